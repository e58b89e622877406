import assert from "node:assert/strict";
import { test } from "node:test";
import { redactUrl } from "../../dist/broker/redis-broker.js";
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

test("bus frames: a reader that reuses one buffer for every chunk (the worker's) loses no partial frame", () => {
  const stream = Buffer.concat([encodeFrame("room", "first", false), encodeFrame("room", "second", true)]);
  for (let cut = 0; cut <= stream.length; cut += 1) {
    const splitter = new FrameSplitter(true);
    const reused = Buffer.alloc(stream.length);
    const read = (part) => {
      part.copy(reused);
      const run = splitter.push(reused.subarray(0, part.length));
      const frames = decodeAll(run.bytes);
      reused.fill(0xff);
      return frames;
    };
    const frames = [...read(stream.subarray(0, cut)), ...read(stream.subarray(cut))];
    assert.deepEqual(
      frames,
      [
        ["room", "first", false],
        ["room", "second", true],
      ],
      `cut at ${cut}`,
    );
  }
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

test("status: the publish line sums the workers' counters and adds the hub's drops; the broker line its counts", async () => {
  const { formatStatus } = await import("../../dist/cli/status.js");
  const { createCounters } = await import("../../dist/protocol/counters.js");
  const worker = (name, published, delivered, dropped) => ({
    name,
    port: 8000,
    state: "RUNNING",
    pid: 1,
    restarts: 0,
    startedAt: 0,
    counters: { ...createCounters(), published, delivered, dropped, topics: published - 1, kept: 1 },
  });
  const text = formatStatus(
    {
      pid: 10,
      startedAt: "2026-01-01T00:00:00.000Z",
      workers: [worker("w_00", 5, 2, 1), worker("w_01", 1, 6, 0)],
      haproxy: undefined,
      bus: {
        workers: 2,
        forwarded: 6,
        topics: 4,
        sent: 9,
        skipped: 2,
        dropped: 3,
        broker: {
          url: "redis://:***@10.0.0.1:6379",
          channel: "wsfleet:w:<topic>",
          subscriptions: 4,
          state: "reconnecting",
          published: 4,
          received: 7,
          dropped: 2,
          lost: 3,
          errors: 5,
          reconnects: 1,
        },
      },
    },
    0,
  );
  const lines = text.trimEnd().split("\n").slice(-3);
  assert.deepEqual(lines, [
    "publish: 6 published, 8 delivered from other workers and hosts, 4 dropped; bus: 2 workers connected",
    "routing: 4 topics served (per worker 4/0); 2 kept in their worker; hub 9 sent, 2 skipped",
    "broker redis://:***@10.0.0.1:6379 (wsfleet:w:<topic>) reconnecting: 4 subscriptions, 4 published, 7 received, 2 dropped, 3 lost, 5 errors, 1 reconnects",
  ]);
});

test("--broker takes redis:// and rediss:// URLs with a password and a database number; nothing else", async () => {
  const { validateOptions } = await import("../../dist/config/validate.js");
  const defaults = { webConcurrency: undefined, cpuCount: 2 };
  for (const url of ["redis://127.0.0.1:6379", "rediss://:pw@redis.example:6380/2", "redis://user:pw@h/0"]) {
    assert.equal(validateOptions({ broker: url }, defaults).broker, url);
  }
  for (const url of ["http://127.0.0.1:6379", "redis://", "redis://h:6379/db", "127.0.0.1:6379"]) {
    assert.throws(() => validateOptions({ broker: url }, defaults), /invalid value for --broker/, url);
  }
});
