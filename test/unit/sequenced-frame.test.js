import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { decodeSequenced, encodeSequenced, SEQUENCED_KIND, sequencedHead } from "../../dist/history/sequenced-frame.js";
import { encodeFrame, FrameSplitter, frameKind, frameTopicKey } from "../../dist/protocol/bus-frames.js";

const epochs = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789-_"),
  maxLength: 255,
});

test("a sequenced frame is one bus frame of its kind that reads back as written", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      epochs,
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.uint8Array({ maxLength: 2000 }),
      fc.boolean(),
      (topic, epoch, offset, payload, isBinary) => {
        const frame = encodeSequenced(topic, { epoch, offset }, payload, isBinary);
        const run = new FrameSplitter().push(frame);
        assert.equal(run.count, 1);
        assert.equal(run.bytes.length, frame.length);
        assert.equal(frameKind(frame), SEQUENCED_KIND);
        assert.equal(frameTopicKey(frame), Buffer.from(topic).toString("latin1"));
        assert.deepEqual(decodeSequenced(frame), {
          topicKey: Buffer.from(topic).toString("latin1"),
          position: { epoch, offset },
          payload: Buffer.from(payload),
          isBinary,
        });
      },
    ),
  );
});

test("what the Lua script builds from the head (length rewritten, body after it) is encodeSequenced's frame", () => {
  const topic = Buffer.from("lobby");
  const payload = Buffer.from("hello");
  const epoch = "e1";
  const head = sequencedHead(topic, true);
  const offset = Buffer.alloc(8);
  offset.writeDoubleBE(42);
  const body = Buffer.concat([Buffer.from([epoch.length]), Buffer.from(epoch), offset, payload]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(head.length - 4 + body.length);
  const scripted = Buffer.concat([length, head.subarray(4), body]);
  assert.deepEqual(scripted, encodeSequenced(topic, { epoch, offset: 42 }, payload, true));
});

test("decodeSequenced leaves other frames alone", () => {
  assert.equal(decodeSequenced(encodeFrame("lobby", "plain publish", false)), undefined);
  assert.equal(decodeSequenced(Buffer.alloc(3)), undefined);
});
