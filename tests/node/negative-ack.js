// Negative acknowledgement from a stack other than .NET: a grpc-js client generated at run time from
// proto/client.proto publishes one message, receives it, sends NegativeAck, and must receive it again
// after the negative-ack delay with redelivery_count 1; then acknowledges it.
// Usage: node negative-ack.js ADDRESS TOPIC   (ADDRESS like 127.0.0.1:6650)
// Prints one JSON line; exits 0 only when the message came back as the contract says.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, topic] = process.argv.slice(2);
if (!address || !topic) {
  console.error('usage: node negative-ack.js ADDRESS TOPIC');
  process.exit(2);
}

const definition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'proto', 'client.proto'),
  { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const tiered = grpc.loadPackageDefinition(definition).tiered.v1;
const client = new tiered.Messaging(address, grpc.credentials.createInsecure());
const deadline = () => new Date(Date.now() + 20000);

function publish() {
  return new Promise((resolve, reject) => {
    const call = client.Produce({ deadline: deadline() });
    call.on('error', reject);
    call.on('data', (response) => {
      if (response.opened) {
        call.write({ send: { sequenceId: '0', batch: {
          formatVersion: 1, sequenceId: String(Number(response.opened.lastSequenceId) + 1), publishTimeMs: String(Date.now()),
          messages: [{ payload: Buffer.from('nacked from node') }],
        } } });
      } else if (response.receipt) {
        call.end();
        resolve(response.receipt);
      } else if (response.error) {
        reject(new Error(JSON.stringify(response.error)));
      }
    });
    call.write({ open: { topic, producerName: '' } });
  });
}

async function main() {
  await publish();
  const call = client.Consume({ deadline: deadline() });
  const deliveries = [];
  const waiting = [];
  call.on('data', (response) => {
    if (response.delivery) {
      if (waiting.length)
        waiting.shift()(response.delivery);
      else
        deliveries.push(response.delivery);
    } else if (response.subscribed) {
      call.write({ flow: { permits: 10 } });
    }
  });
  const ended = new Promise((resolve) => call.on('error', resolve));
  const next = () => (deliveries.length ? Promise.resolve(deliveries.shift()) : new Promise((resolve) => waiting.push(resolve)));
  call.write({ subscribe: { topic, subscription: 'node', type: 'SHARED', initialPosition: 'EARLIEST', negativeAckDelayMs: '200' } });

  const first = await next();
  const nackedAt = Date.now();
  call.write({ negativeAck: { messageIds: [first.messageId] } });
  const again = await next();
  const waited = Date.now() - nackedAt;
  call.write({ ack: { requestId: '1', messageIds: [again.messageId] } });
  call.end();
  await Promise.race([ended, new Promise((resolve) => call.on('end', resolve))]);
  const ok = first.redeliveryCount === 0 && again.redeliveryCount === 1 && waited >= 180
    && again.batch.messages[0].payload.toString() === 'nacked from node';
  console.log(JSON.stringify({ ok, first: first.redeliveryCount, again: again.redeliveryCount, waitedMs: waited }));
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: e.message }));
  process.exit(1);
});
