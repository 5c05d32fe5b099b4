// lqsd with sqs-producer (SendMessageBatch) and sqs-consumer (long-poll ReceiveMessage with
// empty filter lists, DeleteMessageBatch with MessageIds as entry Ids). The consumer's client
// has no endpoint, so every request goes to the QueueUrl lqsd returned, as sqs-consumer does
// by default (useQueueUrlAsEndpoint). The last test does the same with a FIFO queue.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  ACCOUNT, consumeAll, counts, md5Hex, need, SEQUENCE_NUMBER, sqsClient, startLqsd, uniqueName,
} from "./lqsd.mjs";

let S;
let Producer;
let Consumer;
let lqsd;
let sqs;

before(async () => {
  S = await need("@aws-sdk/client-sqs");
  ({ Producer } = await need("sqs-producer"));
  ({ Consumer } = await need("sqs-consumer"));
  lqsd = await startLqsd();
  sqs = sqsClient(S, lqsd.endpoint);
});

after(async () => {
  sqs?.destroy();
  await lqsd?.stop();
});

test("producer sends a batch; consumer consumes, deletes it all", { timeout: 45000 }, async () => {
  const QueueName = uniqueName("pc");
  const { QueueUrl } = await sqs.send(new S.CreateQueueCommand({ QueueName }));
  assert.equal(QueueUrl, `${lqsd.endpoint}/${ACCOUNT}/${QueueName}`);

  const producer = Producer.create({ queueUrl: QueueUrl, sqs });
  const outgoing = Array.from({ length: 12 }, (_, i) => ({
    id: `m${i}`,
    body: `message ${i} ✓`,
    messageAttributes: { index: { DataType: "Number", StringValue: String(i) } },
  }));
  const results = await producer.send(outgoing); // 12 entries: two SendMessageBatch calls
  assert.equal(results.length, 12);
  for (const r of results) {
    const i = Number(r.Id.slice(1));
    assert.equal(r.MD5OfMessageBody, md5Hex(Buffer.from(outgoing[i].body, "utf8")));
  }
  assert.equal(await producer.queueSize(), 12);

  const consumerSqs = sqsClient(S, null);
  const bodies = new Set();
  const consumer = Consumer.create({
    queueUrl: QueueUrl,
    sqs: consumerSqs,
    batchSize: 10,
    waitTimeSeconds: 1,
    messageAttributeNames: ["All"],
    handleMessageBatch: async (messages) => {
      for (const m of messages) {
        assert.equal(m.MessageAttributes.index.StringValue, m.Body.split(" ")[1]);
        bodies.add(m.Body);
      }
      return messages; // acknowledge all: sqs-consumer deletes them with DeleteMessageBatch
    },
  });
  const { outcome, processed, errors } = await consumeAll(consumer, 12);
  consumerSqs.destroy();

  assert.deepEqual(errors, []);
  assert.notEqual(outcome, "timeout", `only ${processed} of 12 messages processed in 20 s`);
  assert.equal(bodies.size, 12);
  const { Attributes } = await sqs.send(new S.GetQueueAttributesCommand({
    QueueUrl,
    AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
  }));
  assert.deepEqual(Attributes, {
    ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0",
  });
});

test("fifo: sqs-producer sends groups; sqs-consumer consumes each group in order",
  { timeout: 45000 }, async () => {
    const QueueName = `${uniqueName("fpc")}.fifo`;
    const { QueueUrl } = await sqs.send(new S.CreateQueueCommand({
      QueueName, Attributes: { FifoQueue: "true", ContentBasedDeduplication: "true" },
    }));
    const producer = Producer.create({ queueUrl: QueueUrl, sqs });
    const outgoing = Array.from({ length: 12 }, (_, i) => ({
      id: `m${i}`, body: `${i % 2 ? "odd" : "even"} ${i}`, groupId: i % 2 ? "odd" : "even",
    }));
    outgoing[0].deduplicationId = "explicit-0";
    const results = await producer.send(outgoing); // 12 entries: two SendMessageBatch calls
    assert.equal(results.length, 12);
    for (const r of results) assert.match(r.SequenceNumber, SEQUENCE_NUMBER);
    assert.equal(await producer.queueSize(), 12);

    const consumerSqs = sqsClient(S, null);
    const seen = { even: [], odd: [] };
    const consumer = Consumer.create({
      queueUrl: QueueUrl,
      sqs: consumerSqs,
      batchSize: 4, // several receives, each taking from one group first
      waitTimeSeconds: 1,
      suppressFifoWarning: true,
      messageSystemAttributeNames: ["MessageGroupId"],
      handleMessageBatch: async (messages) => {
        for (const m of messages) {
          assert.equal(m.Attributes.MessageGroupId, m.Body.split(" ")[0]);
          seen[m.Attributes.MessageGroupId].push(m.Body);
        }
        return messages;
      },
    });
    const { outcome, processed, errors } = await consumeAll(consumer, 12);
    consumerSqs.destroy();

    assert.deepEqual(errors, []);
    assert.notEqual(outcome, "timeout", `only ${processed} of 12 messages processed in 20 s`);
    for (const group of ["even", "odd"]) {
      assert.deepEqual(seen[group], outgoing.filter((m) => m.groupId === group).map((m) => m.body));
    }
    assert.deepEqual(await counts(S, sqs, QueueUrl), [0, 0]);
  });
