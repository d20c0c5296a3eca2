// A producer, generated at run time from proto/client.proto, on a topic that is over its namespace's backlog quota with
// the policy producer_exception: each batch must be answered with a SendError of code BACKLOG_QUOTA_EXCEEDED on a
// stream that stays open (the next batch is answered too), nothing stored.
// Usage: node backlog-quota.js ADDRESS TOPIC   (ADDRESS like 127.0.0.1:6650)
// Prints one JSON line {"refused":N,"message":"…"}; exits 0 only when both batches were refused so.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, topic] = process.argv.slice(2);
if (!address || !topic) {
  console.error('usage: node backlog-quota.js ADDRESS TOPIC');
  process.exit(2);
}

const definition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'proto', 'client.proto'),
  { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const tiered = grpc.loadPackageDefinition(definition).tiered.v1;
const client = new tiered.Messaging(address, grpc.credentials.createInsecure());

(async () => {
  const answers = await new Promise((resolve, reject) => {
    const call = client.Produce({ deadline: new Date(Date.now() + 15000) });
    const got = [];
    call.on('error', reject);
    call.on('data', (response) => {
      if (response.opened) {
        const first = Number(response.opened.lastSequenceId) + 1;
        for (let i = 0; i < 2; i++) {
          const batch = {
            formatVersion: 1, producerName: '', sequenceId: String(first + i), publishTimeMs: String(Date.now()),
            messages: [{ payload: Buffer.from(`node-${i}`) }],
          };
          call.write({ send: { sequenceId: String(i), batch } });
        }
      } else if (response.receipt || response.error) {
        got.push(response);
        if (got.length === 2) {
          call.end();
          resolve(got);
        }
      }
    });
    call.write({ open: { topic, producerName: '' } });
  });
  const refused = answers.filter((a) => a.error && a.error.code === 'BACKLOG_QUOTA_EXCEEDED');
  console.log(JSON.stringify({ refused: refused.length, message: refused.length ? refused[0].error.message : JSON.stringify(answers) }));
  client.close();
  process.exit(refused.length === 2 ? 0 : 1);
})().catch((e) => {
  console.log(JSON.stringify({ refused: 0, message: String(e.message || e) }));
  process.exit(1);
});
