// Sends the broker the requests a careless or hostile client sends, through a client generated at
// run time from proto/client.proto, and checks each answer: the gRPC status or error the contract
// promises, and that the same connection still serves a normal call afterwards.
// Usage: node traps.js ADDRESS   (ADDRESS like 127.0.0.1:6650)
// Prints one JSON line per trap; exits 0 only when every trap got the expected answer.
'use strict';
const path = require('path');
const http2 = require('http2');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const address = process.argv[2];
if (!address) {
  console.error('usage: node traps.js ADDRESS');
  process.exit(2);
}

const definition = protoLoader.loadSync(path.join(__dirname, '..', '..', 'proto', 'client.proto'),
  { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const tiered = grpc.loadPackageDefinition(definition).tiered.v1;
// One client, one HTTP/2 connection: every trap is followed by a normal call on it.
const client = new tiered.Messaging(address, grpc.credentials.createInsecure());
const run = Date.now().toString(36);
const deadline = () => new Date(Date.now() + 15000);

function topicName(name) {
  return `persistent://public/default/traps-${run}-${name}`;
}

function lookup(topic) {
  return new Promise((resolve, reject) => client.Lookup({ topic }, { deadline: deadline() }, (e, r) => (e ? reject(e) : resolve(r))));
}

async function expectStatus(what, promise, code, maxDetail = 1000) {
  try {
    await promise;
  } catch (e) {
    if (e.code !== code)
      throw new Error(`${what}: expected ${grpc.status[code]}, got ${grpc.status[e.code]} (${(e.details || '').slice(0, 200)})`);
    if ((e.details || '').length > maxDetail)
      throw new Error(`${what}: the status message is ${e.details.length} characters long`);
    return e.details;
  }
  throw new Error(`${what}: expected ${grpc.status[code]}, the call succeeded`);
}

// The connection still works: a normal lookup answers.
async function connectionWorks() {
  const answer = await lookup(topicName('after'));
  if (!answer.brokerUrl)
    throw new Error('the lookup after the trap answered without a broker_url');
}

// A producer stream: open it, then send(batch) answers the broker's receipt or error for that batch.
function openProducer(topic) {
  return new Promise((resolve, reject) => {
    const call = client.Produce({ deadline: deadline() });
    const waiting = [];
    let sequence = 0;
    // Messages are numbered increasing per producer (de-duplication drops a batch whose ids were stored already).
    let nextMessage = 0;
    call.on('error', (e) => { reject(e); while (waiting.length) waiting.shift().reject(e); });
    call.on('data', (response) => {
      if (response.opened) {
        nextMessage = Number(response.opened.lastSequenceId) + 1;
        resolve({
          send: (batch) => new Promise((ok, fail) => {
            waiting.push({ resolve: ok, reject: fail });
            const numbered = { ...batch, sequenceId: String(nextMessage) };
            nextMessage += (batch.messages || []).length;
            call.write({ send: { sequenceId: String(sequence++), batch: numbered } });
          }),
          end: () => call.end(),
          cancel: () => call.cancel(),
        });
      } else if (response.receipt || response.error) {
        waiting.shift().resolve(response);
      }
    });
    call.write({ open: { topic, producerName: '' } });
  });
}

function batch(payloads, extra = {}) {
  return {
    formatVersion: 1, producerName: 'traps', sequenceId: '0', publishTimeMs: String(Date.now()),
    messages: payloads.map((p) => ({ payload: Buffer.from(p) })), ...extra,
  };
}

// A consumer stream: subscribe, then next() answers the next response other than Subscribed.
function subscribe(subscribeRequest) {
  return new Promise((resolve, reject) => {
    const call = client.Consume({ deadline: deadline() });
    const queue = [];
    const waiting = [];
    call.on('error', (e) => { reject(e); while (waiting.length) waiting.shift().reject(e); });
    call.on('data', (response) => {
      if (response.subscribed) {
        call.write({ flow: { permits: 100 } });
        resolve({
          next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((ok, fail) => waiting.push({ resolve: ok, reject: fail }))),
          write: (request) => call.write(request),
          cancel: () => call.cancel(),
        });
      } else if (waiting.length) {
        waiting.shift().resolve(response);
      } else {
        queue.push(response);
      }
    });
    call.write({ subscribe: subscribeRequest });
  });
}

async function nextOf(consumer, kind) {
  for (;;) {
    const response = await consumer.next();
    if (response[kind])
      return response[kind];
  }
}

// Raw bytes as a unary request: what a broken or hostile encoder sends.
function rawUnary(method, bytes) {
  return new Promise((resolve, reject) => client.makeUnaryRequest(`/tiered.v1.Messaging/${method}`, (b) => b, (b) => b, bytes,
    new grpc.Metadata(), { deadline: deadline() }, (e, r) => (e ? reject(e) : resolve(r))));
}

// A gRPC request whose length prefix says 4 GiB, on a connection of its own; answers its grpc-status.
function fourGibPrefix() {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on('error', reject);
    const request = session.request({
      ':method': 'POST', ':path': '/tiered.v1.Messaging/Lookup', 'content-type': 'application/grpc', te: 'trailers',
    });
    let status;
    request.on('response', (headers) => { status = status || headers['grpc-status']; });
    request.on('trailers', (trailers) => { status = status || trailers['grpc-status']; });
    request.on('error', reject);
    request.on('close', () => { session.close(); resolve(Number(status)); });
    request.resume();
    request.end(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x01, 0x61]));
  });
}

const traps = {
  async 'a batch without format_version is refused as INVALID_MESSAGE and the next batch is stored'() {
    const producer = await openProducer(topicName('version-0'));
    const refused = await producer.send(batch(['v0'], { formatVersion: 0 }));
    if (!refused.error || refused.error.code !== 'INVALID_MESSAGE')
      throw new Error(`expected INVALID_MESSAGE, got ${JSON.stringify(refused)}`);
    const stored = await producer.send(batch(['v1']));
    if (!stored.receipt)
      throw new Error(`the next batch was not stored: ${JSON.stringify(stored)}`);
    producer.end();
  },

  async 'a batch without publish_time_ms is stored with the broker time'() {
    const topic = topicName('no-publish-time');
    const producer = await openProducer(topic);
    const before = Date.now();
    const stored = await producer.send(batch(['untimed'], { publishTimeMs: '0' }));
    const after = Date.now();
    producer.end();
    if (!stored.receipt)
      throw new Error(`not stored: ${JSON.stringify(stored)}`);
    const reader = await subscribe({ topic, reader: true, initialPosition: 'EARLIEST' });
    const delivery = await nextOf(reader, 'delivery');
    reader.cancel();
    const time = Number(delivery.batch.publishTimeMs);
    if (!(time >= before - 1000 && time <= after + 1000))
      throw new Error(`publish_time_ms is ${time}, not the broker's time (between ${before} and ${after})`);
    if (delivery.batch.messages[0].payload.toString() !== 'untimed')
      throw new Error('the stored batch lost its message');
  },

  async 'deliver_at_ms: a Shared subscription holds the message until its time; a negative time is INVALID_MESSAGE'() {
    const topic = topicName('deliver-at');
    const consumer = await subscribe({ topic, subscription: 's', type: 'SHARED', initialPosition: 'EARLIEST' });
    const producer = await openProducer(topic);
    const negative = batch(['never']);
    negative.messages[0].deliverAtMs = '-1';
    const refused = await producer.send(negative);
    if (!refused.error || refused.error.code !== 'INVALID_MESSAGE' || !refused.error.message.includes('deliver_at_ms'))
      throw new Error(`expected INVALID_MESSAGE naming deliver_at_ms for a negative time, got ${JSON.stringify(refused)}`);
    const due = Date.now() + 1500;
    const later = batch(['later']);
    later.messages[0].deliverAtMs = String(due);
    const stored = await producer.send(later);
    producer.end();
    if (!stored.receipt)
      throw new Error(`the delayed message was not stored: ${JSON.stringify(stored)}`);
    const delivery = await nextOf(consumer, 'delivery');
    const arrived = Date.now();
    consumer.cancel();
    if (delivery.batch.messages[0].payload.toString() !== 'later')
      throw new Error(`unexpected delivery: ${JSON.stringify(delivery.batch.messages[0])}`);
    if (arrived < due)
      throw new Error(`delivered ${due - arrived} ms before its deliver_at_ms`);
  },

  async 'a Key_Shared subscribe with a bad sticky range is refused and creates no subscription'() {
    const topic = topicName('key-shared-bad');
    const producer = await openProducer(topic);
    await producer.send(batch(['m']));
    producer.end();
    const bad = { topic, subscription: 'ks', type: 'KEY_SHARED', keyShared: { mode: 'STICKY', ranges: [{ start: 100, end: 5 }] } };
    const refused = await expectStatus('Key_Shared subscribe with range 100-5', subscribe(bad), grpc.status.INVALID_ARGUMENT);
    if (!refused.includes('starts after it ends'))
      throw new Error(`unexpected refusal: ${refused}`);
    const seek = new Promise((resolve, reject) => client.Seek({ topic, subscription: 'ks', publishTimeMs: '0' }, { deadline: deadline() },
      (e, r) => (e ? reject(e) : resolve(r))));
    const detail = await expectStatus('Seek on the refused subscription', seek, grpc.status.NOT_FOUND);
    if (!detail.includes('does not exist'))
      throw new Error(`unexpected NOT_FOUND: ${detail}`);
  },

  async 'Key_Shared splits a batch by key between two sticky consumers, each key to one of them'() {
    const topic = topicName('key-shared');
    const sticky = (start, end) => ({
      topic, subscription: 'ks', type: 'KEY_SHARED', initialPosition: 'EARLIEST', keyShared: { mode: 'STICKY', ranges: [{ start, end }] },
    });
    const low = await subscribe(sticky(0, 32767));
    const high = await subscribe(sticky(32768, 65535));
    await expectStatus('an overlapping sticky range', subscribe(sticky(30000, 40000)), grpc.status.INVALID_ARGUMENT);
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    const b = batch(keys);
    b.messages.forEach((m, i) => { m.key = keys[i]; });
    const producer = await openProducer(topic);
    await producer.send(b);
    producer.end();
    const got = [];
    for (const consumer of [low, high]) {
      const delivery = await nextOf(consumer, 'delivery');
      const skipped = new Set(delivery.ackedBatchIndexes);
      got.push(delivery.batch.messages.map((m, i) => i).filter((i) => !skipped.has(i)));
    }
    low.cancel();
    high.cancel();
    const all = [...got[0], ...got[1]].sort((x, y) => x - y);
    if (all.length !== 20 || all.some((index, i) => index !== i))
      throw new Error(`each message should reach exactly one consumer: ${JSON.stringify(got)}`);
    if (got[0].length === 0 || got[1].length === 0)
      throw new Error(`20 keys all hashed to one half: ${JSON.stringify(got)}`);
  },

  async 'an ack with a huge batch_size is refused and the subscription still acknowledges'() {
    const topic = topicName('huge-ack');
    const producer = await openProducer(topic);
    await producer.send(batch(['a', 'b', 'c']));
    producer.end();
    const consumer = await subscribe({ topic, subscription: 's', type: 'EXCLUSIVE', initialPosition: 'EARLIEST' });
    const delivery = await nextOf(consumer, 'delivery');
    const id = (batchIndex, batchSize) => ({ ledgerId: delivery.messageId.ledgerId, entryId: delivery.messageId.entryId, partition: -1, batchIndex, batchSize });
    for (const [requestId, size] of [[1, 2000000000], [2, 2147483647], [3, -1]]) {
      consumer.write({ ack: { requestId: String(requestId), messageIds: [id(1, size)] } });
      const receipt = await nextOf(consumer, 'ackReceipt');
      if (!receipt.error.includes('batch of 3'))
        throw new Error(`the ack with batch_size ${size} was not refused: ${JSON.stringify(receipt)}`);
    }
    consumer.write({ ack: { requestId: '4', messageIds: [id(0, 3), id(1, 3), id(2, 3)] } });
    const receipt = await nextOf(consumer, 'ackReceipt');
    consumer.cancel();
    if (receipt.error)
      throw new Error(`the right ack was refused after the wrong ones: ${receipt.error}`);
  },

  async 'a 100,000-character topic name is refused briefly and the connection still serves'() {
    const long = 'a'.repeat(100000);
    await expectStatus('Lookup', lookup(long), grpc.status.INVALID_ARGUMENT, 400);
    await connectionWorks();
    await expectStatus('Produce', openProducer(long), grpc.status.INVALID_ARGUMENT, 400);
    await connectionWorks();
  },

  async '100,000-character subscription, consumer and producer names are refused briefly'() {
    const long = 's'.repeat(100000);
    const topic = topicName('long-names');
    await expectStatus('subscription', subscribe({ topic, subscription: long }), grpc.status.INVALID_ARGUMENT, 400);
    await expectStatus('consumer', subscribe({ topic, subscription: 's', consumerName: long }), grpc.status.INVALID_ARGUMENT, 400);
    await connectionWorks();
    await expectStatus('producer', new Promise((resolve, reject) => {
      const call = client.Produce({ deadline: deadline() });
      call.on('error', reject);
      call.on('data', resolve);
      call.write({ open: { topic, producerName: long } });
    }), grpc.status.INVALID_ARGUMENT, 400);
    await connectionWorks();
  },

  async 'the topic names . and .. are refused as INVALID_ARGUMENT'() {
    for (const name of ['.', '..', 'public/default/..', 'public/../t', './default/t'])
      await expectStatus(`Lookup ${name}`, lookup(name), grpc.status.INVALID_ARGUMENT);
    await expectStatus('Produce ..', openProducer('persistent://public/default/..'), grpc.status.INVALID_ARGUMENT);
    await connectionWorks();
  },

  async 'undecodable requests are INVALID_ARGUMENT and the connection still serves'() {
    await expectStatus('garbage', rawUnary('Lookup', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])), grpc.status.INVALID_ARGUMENT);
    await connectionWorks();
    // LookupRequest{topic} whose string is not UTF-8.
    await expectStatus('invalid UTF-8', rawUnary('Lookup', Buffer.from([0x0a, 0x02, 0xc3, 0x28])), grpc.status.INVALID_ARGUMENT);
    await connectionWorks();
  },

  async 'a 4 GiB length prefix is RESOURCE_EXHAUSTED'() {
    const status = await fourGibPrefix();
    if (status !== grpc.status.RESOURCE_EXHAUSTED)
      throw new Error(`expected RESOURCE_EXHAUSTED, got ${grpc.status[status]} (${status})`);
    await connectionWorks();
  },

  async 'streams the client cancels end quietly'() {
    const topic = topicName('cancelled');
    const producer = await openProducer(topic);
    producer.send(batch(['x'])).catch(() => {});
    producer.cancel();
    const consumer = await subscribe({ topic, subscription: 'c', type: 'SHARED', initialPosition: 'EARLIEST' });
    consumer.cancel();
    await connectionWorks();
  },
};

(async () => {
  let failed = 0;
  for (const [name, trap] of Object.entries(traps)) {
    try {
      await trap();
      console.log(JSON.stringify({ trap: name, ok: true }));
    } catch (e) {
      failed += 1;
      console.log(JSON.stringify({ trap: name, ok: false, error: String(e.message || e).slice(0, 500) }));
    }
  }
  client.close();
  process.exit(failed === 0 ? 0 : 1);
})();
