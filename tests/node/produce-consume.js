// Produces COUNT messages to TOPIC on the broker at ADDRESS and consumes them back through a
// durable subscription, with a client generated at run time from proto/client.proto.
// Usage: node produce-consume.js ADDRESS TOPIC COUNT [CA_FILE]   (ADDRESS like 127.0.0.1:6650)
// With CA_FILE (PEM) the connection is TLS, verifying the broker's certificate against that CA.
// Prints one JSON line with what happened; exits 0 only when every message came back once, in order.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, topic, countText, caFile] = process.argv.slice(2);
const count = Number(countText);
if (!address || !topic || !(count > 0)) {
  console.error('usage: node produce-consume.js ADDRESS TOPIC COUNT [CA_FILE]');
  process.exit(2);
}

const definition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'proto', 'client.proto'),
  { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const tiered = grpc.loadPackageDefinition(definition).tiered.v1;
const credentials = caFile ? grpc.credentials.createSsl(fs.readFileSync(caFile)) : grpc.credentials.createInsecure();
const client = new tiered.Messaging(address, credentials);

function fail(message) {
  console.error(message);
  process.exit(1);
}

function subscribe(onMessage) {
  const call = client.Consume();
  call.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) fail(`consume stream failed: ${e.message}`); });
  call.write({ subscribe: { topic, subscription: 'node', type: 'EXCLUSIVE', initialPosition: 'EARLIEST' } });
  let requestId = 0;
  call.on('data', (response) => {
    if (response.subscribed) {
      call.write({ flow: { permits: 1000 } });
    } else if (response.delivery) {
      const d = response.delivery;
      const ids = [];
      d.batch.messages.forEach((m, i) => {
        if (!d.ackedBatchIndexes.includes(i)) {
          onMessage(m.payload.toString('utf8'));
          ids.push({ ledgerId: d.messageId.ledgerId, entryId: d.messageId.entryId, batchIndex: i, batchSize: d.batch.messages.length, partition: -1 });
        }
      });
      call.write({ ack: { requestId: String(requestId++), messageIds: ids } });
      call.write({ flow: { permits: ids.length } });
    } else if (response.ackReceipt && response.ackReceipt.error) {
      fail(`ack refused: ${response.ackReceipt.error}`);
    }
  });
  return call;
}

function produce() {
  return new Promise((resolve) => {
    const call = client.Produce();
    let receipts = 0;
    const batchSize = 10;
    call.on('error', (e) => fail(`produce stream failed: ${e.message}`));
    call.on('data', (response) => {
      if (response.opened) {
        for (let first = 0, seq = 0; first < count; first += batchSize, seq++) {
          const messages = [];
          for (let i = first; i < Math.min(count, first + batchSize); i++)
            messages.push({ payload: Buffer.from(`node-${i}`), key: `k${i % 7}` });
          call.write({ send: { sequenceId: String(seq), batch: { formatVersion: 1, producerName: 'node', sequenceId: String(first), publishTimeMs: String(Date.now()), messages } } });
        }
      } else if (response.receipt) {
        receipts += 1;
        if (receipts === Math.ceil(count / batchSize)) {
          call.end();
          resolve(receipts);
        }
      } else if (response.error) {
        fail(`send refused: ${response.error.message}`);
      }
    });
    call.write({ open: { topic, producerName: 'node' } });
  });
}

const received = [];
const consumer = subscribe((payload) => {
  received.push(payload);
  if (received.length === count) {
    const inOrder = received.every((p, i) => p === `node-${i}`);
    console.log(JSON.stringify({ produced: count, consumed: received.length, inOrder }));
    consumer.cancel();
    process.exit(inOrder ? 0 : 1);
  }
});
// Produce once the subscription exists (it starts at the earliest message anyway).
setTimeout(() => produce().catch((e) => fail(e.message)), 200);
setTimeout(() => fail(`timed out with ${received.length} of ${count} messages`), 60000);
