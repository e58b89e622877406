import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrl } from "../../dist/bus/redis-broker.js";
import { countFrames, encodeFrame, FrameSplitter, forEachFrame } from "../../dist/protocol/bus-frames.js";

function decodeAll(run) {
  const out = [];
  forEachFrame(run, (topic, payload, isBinary) =>
    out.push([Buffer.from(topic).toString(), Buffer.from(payload).toString(), isBinary]),
  );
  return out;
}

test("bus frames: text, binary, an ArrayBuffer and an empty message survive being cut anywhere", () => {
  const frames = [
    encodeFrame("room/é", "héllo", false),
    encodeFrame("bin", new TextEncoder().encode("\x00\x01").buffer, true),
    encodeFrame("", "", false),
    encodeFrame("t", Buffer.from("buf"), true),
  ];
  const stream = Buffer.concat(frames);
  const expected = [
    ["room/é", "héllo", false],
    ["bin", "\x00\x01", true],
    ["", "", false],
    ["t", "buf", true],
  ];
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const splitter = new FrameSplitter();
    const first = splitter.push(stream.subarray(0, cut));
    const second = splitter.push(stream.subarray(cut));
    assert.equal(first.count + second.count, 4);
    assert.deepEqual([...decodeAll(first.bytes), ...decodeAll(second.bytes)], expected, `cut at ${cut}`);
  }
  assert.equal(countFrames(stream), 4);
});

test("bus frames: a length no writer produces is refused; a too long topic is refused", () => {
  const corrupt = Buffer.alloc(8);
  corrupt.writeUInt32BE(1, 0);
  assert.throws(() => new FrameSplitter().push(corrupt), /corrupt/);
  assert.throws(() => encodeFrame("x".repeat(70_000), "m", false), /at most 65535 bytes/);
});

test("redactUrl hides a password in logs and status", () => {
  assert.equal(redactUrl("redis://:s3cret@10.0.0.1:6379/2"), "redis://:***@10.0.0.1:6379/2");
  assert.equal(redactUrl("rediss://user:s3cret@redis.example:6380"), "rediss://user:***@redis.example:6380");
  assert.equal(redactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});
