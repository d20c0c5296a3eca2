// Looks TOPIC up at the broker at ADDRESS, then dials the target the answer names, exactly as given
// (broker_address; broker_url only if a broker sent no address), produces COUNT messages there and consumes
// them back, with a grpc-js client generated at run time from proto/client.proto.
// Usage: node lookup-dial.js ADDRESS TOPIC COUNT [CA_FILE]   (ADDRESS like 127.0.0.1:6650)
// With CA_FILE (PEM) the lookup is made over TLS, and so is the dial when the answer says broker_tls, each
// verifying the broker's certificate against that CA; without it, the system's roots.
// Prints one JSON line with the lookup answer and what happened; exits 0 only when every message came back.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, topic, countText, caFile] = process.argv.slice(2);
const ca = caFile ? fs.readFileSync(caFile) : undefined;
const count = Number(countText);
if (!address || !topic || !(count > 0)) {
  console.error('usage: node lookup-dial.js ADDRESS TOPIC COUNT [CA_FILE]');
  process.exit(2);
}

const definition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'proto', 'client.proto'),
  { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const tiered = grpc.loadPackageDefinition(definition).tiered.v1;

function fail(message) {
  console.error(message);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 60000).unref();

function lookup() {
  const client = new tiered.Messaging(address, ca ? grpc.credentials.createSsl(ca) : grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.Lookup({ topic }, { deadline: Date.now() + 10000 }, (error, response) => {
      client.close();
      if (error) reject(new Error(`Lookup at ${address} failed: ${error.message}`));
      else resolve(response);
    });
  });
}

function produce(client, target) {
  return new Promise((resolve) => {
    const call = client.Produce();
    call.on('error', (e) => fail(`produce stream at ${target} failed: ${e.message}`));
    call.on('data', (response) => {
      if (response.opened) {
        const messages = [];
        for (let i = 0; i < count; i++)
          messages.push({ payload: Buffer.from(`dialed-${i}`) });
        call.write({ send: { sequenceId: '0', batch: { formatVersion: 1, producerName: 'node-dial', sequenceId: '0', publishTimeMs: String(Date.now()), messages } } });
      } else if (response.receipt) {
        call.end();
        resolve();
      } else if (response.error) {
        fail(`send refused: ${response.error.message}`);
      }
    });
    call.write({ open: { topic, producerName: 'node-dial' } });
  });
}

function consume(client, target) {
  return new Promise((resolve) => {
    const received = [];
    const call = client.Consume();
    call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) fail(`consume stream at ${target} failed: ${e.message}`); });
    call.on('data', (response) => {
      if (response.subscribed) {
        call.write({ flow: { permits: 1000 } });
      } else if (response.delivery) {
        const d = response.delivery;
        const ids = d.batch.messages.map((m, i) => {
          received.push(m.payload.toString('utf8'));
          return { ledgerId: d.messageId.ledgerId, entryId: d.messageId.entryId, batchIndex: i, batchSize: d.batch.messages.length, partition: -1 };
        });
        call.write({ ack: { requestId: '1', messageIds: ids } });
      } else if (response.ackReceipt) {
        if (response.ackReceipt.error)
          fail(`ack refused: ${response.ackReceipt.error}`);
        call.cancel();
        resolve(received);
      }
    });
    call.write({ subscribe: { topic, subscription: 'node-dial', type: 'EXCLUSIVE', initialPosition: 'EARLIEST' } });
  });
}

(async () => {
  const answer = await lookup();
  const target = answer.brokerAddress || answer.brokerUrl;
  const credentials = answer.brokerTls ? grpc.credentials.createSsl(ca) : grpc.credentials.createInsecure();
  const client = new tiered.Messaging(target, credentials);
  await produce(client, target);
  const received = await consume(client, target);
  client.close();
  const complete = received.length === count && received.every((p, i) => p === `dialed-${i}`);
  console.log(JSON.stringify({ brokerUrl: answer.brokerUrl, brokerAddress: answer.brokerAddress, brokerTls: answer.brokerTls, dialed: target, consumed: received.length, complete }));
  process.exit(complete ? 0 : 1);
})().catch((e) => fail(e.message));
