import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { BusRouter } from "../../dist/bus/router.js";
import { BrokerSequencer } from "../../dist/history/broker-sequencer.js";
import { MemoryStore } from "../../dist/history/memory-store.js";
import { Sequencer } from "../../dist/history/sequencer.js";
import { readSince } from "../../dist/history/since.js";
import { WorkerHistory } from "../../dist/history/worker-history.js";
import { encodeFrame, forEachFrame, HISTORY, ROUTE } from "../../dist/protocol/bus-frames.js";
import {
  decodeMessage,
  decodeRecover,
  decodeRecovered,
  encodePublished,
  encodeRecover,
  encodeRecovered,
  RECOVER_MODE,
} from "../../dist/protocol/history-frames.js";

/** A store on a fake clock with epochs e1, e2, … in the order topics are made. */
function fakeStore(size, ttlMs = 1000) {
  const clock = { now: 0 };
  let epochs = 0;
  const store = new MemoryStore(size, ttlMs, {
    nowMs: () => clock.now,
    newEpoch: () => {
      epochs += 1;
      return `e${epochs}`;
    },
  });
  return { store, clock };
}

const payloadsOf = (recovery) => recovery.messages.map((m) => String(m.payload));

test("memory store: offsets from 1 without a gap, the last n kept, recovery after a position in the ring", () => {
  const { store } = fakeStore(3);
  assert.deepEqual(store.position("lobby"), { epoch: "e1", offset: 0 }, "a topic never published: offset 0");
  for (let i = 1; i <= 5; i += 1)
    assert.deepEqual(store.append("lobby", Buffer.from(`m${i}`), false), { epoch: "e1", offset: i });
  assert.deepEqual(store.sizes(), { topics: 1, messages: 3, bytes: 6 }, "bounded: 3 of 5 kept");
  const after2 = store.since("lobby", { epoch: "e1", offset: 2 });
  assert.equal(after2.recovered, true);
  assert.deepEqual(payloadsOf(after2), ["m3", "m4", "m5"]);
  assert.deepEqual(after2.position, { epoch: "e1", offset: 5 });
  assert.deepEqual(payloadsOf(store.since("lobby", { epoch: "e1", offset: 5 })), [], "up to date: nothing, recovered");
  const limited = store.since("lobby", { epoch: "e1", offset: 2 }, 2);
  assert.deepEqual(payloadsOf(limited), ["m3", "m4"]);
  assert.deepEqual(limited.position, { epoch: "e1", offset: 4 }, "limited: the position is the last one given");
});

test("memory store: another epoch, an offset older than the ring, a future or malformed one: recovered false with the position", () => {
  const { store } = fakeStore(3);
  for (let i = 1; i <= 5; i += 1) store.append("lobby", Buffer.from(`m${i}`), false);
  const now = { epoch: "e1", offset: 5 };
  for (const since of [
    { epoch: "e0", offset: 4 },
    { epoch: "e1", offset: 1 },
    { epoch: "e1", offset: 6 },
    { epoch: "e1", offset: Number.NaN },
    { epoch: "e1", offset: -1 },
    { epoch: "e1", offset: 2.5 },
    { epoch: 7, offset: 4 },
    null,
  ]) {
    assert.deepEqual(store.since("lobby", since), { recovered: false, position: now }, JSON.stringify(since));
  }
});

test("memory store: a topic nobody serves and nobody publishes to for the TTL is dropped; it comes back in a new epoch", () => {
  const { store, clock } = fakeStore(10, 1000);
  store.append("idle", Buffer.from("x"), false);
  store.append("held", Buffer.from("y"), false);
  store.served("held", true);
  clock.now = 999;
  assert.equal(store.expire(), 0, "not yet");
  clock.now = 1000;
  assert.equal(store.expire(), 1, "the idle topic goes; the served one stays");
  assert.deepEqual(store.sizes(), { topics: 1, messages: 1, bytes: 1 });
  assert.equal(store.since("idle", { epoch: "e1", offset: 1 }).recovered, false, "its old position is refused");
  assert.deepEqual(store.append("idle", Buffer.from("z"), false), { epoch: "e3", offset: 1 }, "a new epoch, from 1");
  store.served("held", false);
  clock.now = 5000;
  assert.equal(store.expire(), 2);
});

test("memory store (property): any run of appends keeps at most n, and every recovery is contiguous up to its position", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.oneof(fc.constant("append"), fc.integer({ min: -2, max: 40 })), { maxLength: 60 }),
      (size, steps) => {
        const { store } = fakeStore(size);
        let last = 0;
        for (const step of steps) {
          if (step === "append") {
            last += 1;
            assert.equal(store.append("t", Buffer.from(String(last)), false).offset, last);
            assert.ok(store.sizes().messages <= size);
            continue;
          }
          const recovery = store.since("t", { epoch: "e1", offset: step });
          const oldest = last - Math.min(last, size);
          const recoverable = step >= oldest && step <= last;
          assert.equal(recovery.recovered, recoverable, `since ${step} with ${last} published, ${size} kept`);
          if (!recovery.recovered) continue;
          const offsets = recovery.messages.map((m) => m.offset);
          assert.deepEqual(
            offsets,
            Array.from({ length: last - step }, (_, i) => step + 1 + i),
            "no gap, no duplicate",
          );
          assert.deepEqual(payloadsOf(recovery), offsets.map(String));
          assert.equal(recovery.position.offset, last);
        }
      },
    ),
  );
});

test("readSince: numbers or the digits of a query string; a half, garbage or an empty offset is malformed", () => {
  assert.deepEqual(readSince(undefined), { kind: "none" });
  assert.deepEqual(readSince({ epoch: null, offset: null }), { kind: "none" });
  assert.deepEqual(readSince({ epoch: "e1", offset: "12" }), {
    kind: "position",
    position: { epoch: "e1", offset: 12 },
  });
  assert.deepEqual(readSince({ epoch: "e1", offset: 0 }), { kind: "position", position: { epoch: "e1", offset: 0 } });
  for (const offset of ["abc", "", "1e3", "-1", "12.5", " 12", null, Number.NaN, -3, 1.5, "99999999999999999"]) {
    assert.deepEqual(readSince({ epoch: "e1", offset }), { kind: "malformed" }, JSON.stringify(offset));
  }
  assert.deepEqual(readSince({ epoch: "", offset: "1" }), { kind: "malformed" });
  assert.deepEqual(readSince({ epoch: null, offset: "1" }), { kind: "malformed" });
});

test("history frames: RECOVER and RECOVERED read back as written", () => {
  const frame = encodeRecover("lobby", 7, RECOVER_MODE.SINCE, { epoch: "abc", offset: 12 }, 5);
  forEachFrame(
    frame,
    () => assert.fail("not a publish"),
    (kind, topic, body) => {
      assert.equal(kind, HISTORY.RECOVER);
      assert.equal(String(Buffer.from(topic)), "lobby");
      assert.deepEqual(decodeRecover(body), {
        id: 7,
        mode: RECOVER_MODE.SINCE,
        since: { epoch: "abc", offset: 12 },
        limit: 5,
      });
    },
  );
  const answer = {
    id: 7,
    recovered: true,
    position: { epoch: "abc", offset: 14 },
    messages: [
      { offset: 13, isBinary: false, payload: Buffer.from("hello") },
      { offset: 14, isBinary: true, payload: Buffer.from([0, 1, 2]) },
    ],
  };
  forEachFrame(encodeRecovered(Buffer.from("lobby"), answer), assert.fail, (kind, _topic, body) => {
    assert.equal(kind, HISTORY.RECOVERED);
    const read = decodeRecovered(body);
    assert.deepEqual(
      { ...read, messages: read.messages.map((m) => ({ ...m, payload: Buffer.from(m.payload) })) },
      answer,
    );
  });
  assert.ok(
    Object.values(HISTORY).every((kind) => !Object.values(ROUTE).includes(kind)),
    "no ROUTE value reused",
  );
});

/** A peer of the router that keeps what it was written, frame by frame: [kind, topic, body]. */
function recordingPeer() {
  const frames = [];
  return {
    frames,
    writableLength: 0,
    write(bytes) {
      forEachFrame(
        Buffer.from(bytes),
        () => frames.push(["publish"]),
        (kind, topic, body) => frames.push([kind, String(Buffer.from(topic)), Buffer.from(body)]),
      );
      return true;
    },
    cork() {},
    uncork() {},
  };
}

const run = (frame) => ({ bytes: frame, count: 1 });

test("sequencer (property): a recovery anywhere in a stream of publishes, then the live ones, is every offset once", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 30 }),
      fc.integer({ min: 0, max: 12 }),
      (size, before, after, behind) => {
        const router = new BusRouter();
        const { store } = fakeStore(size);
        router.sequenceWith(new Sequencer(store));
        const publisher = recordingPeer();
        const late = recordingPeer();
        router.join(publisher);
        router.join(late);
        const publish = (n) => router.route(publisher, run(encodeFrame("room", `m${n}`, false, HISTORY.PUBLISH)));
        for (let n = 1; n <= before; n += 1) publish(n);
        const since = Math.max(0, before - behind);
        router.route(late, run(encodeRecover("room", 1, RECOVER_MODE.SINCE, { epoch: "e1", offset: since })));
        for (let n = before + 1; n <= before + after; n += 1) publish(n);
        const [answer, ...live] = late.frames;
        assert.equal(answer[0], HISTORY.RECOVERED, "the answer first");
        const recovery = decodeRecovered(answer[2]);
        const liveOffsets = live.map(([kind, , body]) => {
          assert.equal(kind, HISTORY.MESSAGE);
          return decodeMessage(body).position.offset;
        });
        assert.deepEqual(
          liveOffsets,
          Array.from({ length: after }, (_, i) => before + 1 + i),
          "live: every later one",
        );
        const inRing = before - since <= size;
        assert.equal(recovery.recovered, inRing);
        if (recovery.recovered) {
          const offsets = recovery.messages.map((m) => m.offset);
          assert.deepEqual(
            offsets,
            Array.from({ length: before - since }, (_, i) => since + 1 + i),
          );
        }
        assert.equal(recovery.position.offset, before, "the seam: the answer ends where the live ones start");
        const acks = publisher.frames.filter(([kind]) => kind === HISTORY.PUBLISHED).length;
        assert.equal(acks, before + after, "the publisher is told every position");
      },
    ),
  );
});

/** A WorkerHistory over plain objects: what was sent to the hub, what each fake ws got, in order. */
function fakeWorker() {
  const toHub = [];
  const got = new Map();
  const closed = new Set();
  const held = [];
  const log = (ws, entry) => got.set(ws, [...(got.get(ws) ?? []), entry]);
  const history = new WorkerHistory(
    (frame) => {
      toHub.push(frame);
      return true;
    },
    {
      isOpen: (ws) => !closed.has(ws),
      send: (ws, data) => log(ws, `send ${data}`),
      subscribe: (ws, topic) => log(ws, `subscribe ${topic}`),
      publishLocal: () => {},
      hold: (key) => held.push(`hold ${key}`),
      release: (key) => held.push(`release ${key}`),
    },
    ({ offset, payload }) => `${offset}:${payload}`,
  );
  return { history, toHub, got, closed, held };
}

test("worker history: identical recoveries on the way share one request; each client gets the messages, then subscribes", async () => {
  const { history, toHub, got, closed, held } = fakeWorker();
  const since = { epoch: "e1", offset: "3" };
  const results = ["a", "b", "c"].map((ws) =>
    history.subscribe(ws, "room", since, (r) => got.set(ws, [...(got.get(ws) ?? []), `seam ${r.recovered}`])),
  );
  closed.add("c");
  assert.equal(toHub.length, 1, "one RECOVER for three clients");
  assert.deepEqual(held, ["hold room"], "the topic held served until the answer");
  let request;
  forEachFrame(toHub[0], assert.fail, (_kind, _topic, body) => {
    request = decodeRecover(body);
  });
  const answer = encodeRecovered(Buffer.from("room"), {
    id: request.id,
    recovered: true,
    position: { epoch: "e1", offset: 5 },
    messages: [
      { offset: 4, isBinary: false, payload: Buffer.from("x") },
      { offset: 5, isBinary: false, payload: Buffer.from("y") },
    ],
  });
  forEachFrame(answer, assert.fail, history.frame);
  for (const ws of ["a", "b"]) assert.deepEqual(got.get(ws), ["send 4:x", "send 5:y", "seam true", "subscribe room"]);
  assert.equal(got.get("c"), undefined, "a client gone meanwhile is skipped");
  assert.deepEqual(held, ["hold room", "release room"]);
  for (const result of await Promise.all(results))
    assert.deepEqual(result, { recovered: true, position: { epoch: "e1", offset: 5 }, sent: 2 });
  history.subscribe("d", "room", since);
  assert.equal(toHub.length, 2, "answered: the next one asks again");
});

test("worker history: publishes resolve with their positions in order; lost ones with undefined", async () => {
  const { history } = fakeWorker();
  const first = history.publish("room", "a", false);
  const second = history.publish("room", "b", false);
  forEachFrame(encodePublished(Buffer.from("room"), { epoch: "e", offset: 1 }), assert.fail, history.frame);
  assert.deepEqual(await first, { epoch: "e", offset: 1 });
  history.lost();
  assert.equal(await second, undefined);
});

test("--history: a count from 0 (off) to 1000000 and a TTL of at least 1 s; with --exec it is refused, exit 2, naming the option", async () => {
  const { validateOptions } = await import("../../dist/config/validate.js");
  const defaults = { webConcurrency: undefined, cpuCount: 2 };
  assert.equal(validateOptions({}, defaults).history, undefined, "off by default");
  assert.deepEqual(validateOptions({ history: "1000" }, defaults).history, { size: 1000, ttlSecs: 300 });
  assert.deepEqual(validateOptions({ history: "10", historyTtl: "60" }, defaults).history, { size: 10, ttlSecs: 60 });
  for (const [raw, pattern] of [
    [{ history: "abc" }, /--history.*abc.*for example --history 1000/],
    [{ history: "-1" }, /--history/],
    [{ history: "10", historyTtl: "0" }, /--history-ttl.*for example --history-ttl 300/],
    [{ history: "10", exec: "python3 app.py" }, /--history.*without --exec/],
  ]) {
    assert.throws(
      () => validateOptions(raw, defaults),
      (error) => pattern.test(error.message) && error.exitCode === 2,
      JSON.stringify(raw),
    );
  }
});

test("--history in wsfleet status and /metrics: the size kept and the counts", async () => {
  const { formatStatus } = await import("../../dist/cli/status.js");
  const { renderBusMetrics } = await import("../../dist/metrics/bus.js");
  const history = { topics: 2, messages: 150, bytes: 4096, sequenced: 900, recovered: 40, notRecovered: 3, expired: 1 };
  const hub = { workers: 2, forwarded: 900, topics: 2, sent: 1800, skipped: 0, dropped: 0, history };
  const text = formatStatus(
    { pid: 1, startedAt: "2026-01-01T00:00:00.000Z", workers: [], haproxy: undefined, bus: hub },
    0,
  );
  assert.match(
    text,
    /history: 2 topics, 150 messages \(4096 bytes\) kept; 900 sequenced, 40 recovered, 3 not recovered, 1 expired\n/,
  );
  const metrics = renderBusMetrics(hub, undefined);
  assert.match(metrics, /\nwsfleet_history_messages 150\n/);
  assert.match(metrics, /\nwsfleet_history_bytes 4096\n/);
  assert.match(metrics, /\nwsfleet_history_not_recovered_total 3\n/);
  assert.doesNotMatch(renderBusMetrics({ ...hub, history: undefined }, undefined), /wsfleet_history/);
});

test("broker sequencer (property): a recovery read from the store while live messages keep coming is cut at the seam", async () => {
  const { encodeMessage } = await import("../../dist/protocol/history-frames.js");
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 12 }),
      async (before, during, readAt, behind) => {
        const size = 20;
        const { store: redis } = fakeStore(size);
        const reads = [];
        // The store as Redis would be: its read lands at some point among the live messages (readAt of `during`).
        const store = {
          append: (...args) => redis.append(...args),
          position: (topic) => redis.position(topic),
          since: (topic, since, limit) =>
            new Promise((resolve) => reads.push(() => resolve(redis.since(topic, since, limit)))),
        };
        const router = new BusRouter();
        const { store: local } = fakeStore(size);
        router.sequenceThroughBroker(
          // A ring of 4 in the hub: a position further behind is read from the store.
          (ports) => new BrokerSequencer(store, new Sequencer(local), 4, () => true, ports),
        );
        const old = recordingPeer();
        const late = recordingPeer();
        router.join(old);
        router.join(late);
        const topic = Buffer.from("room");
        let published = 0;
        const publishLive = () => {
          published += 1;
          const position = redis.append("room", Buffer.from(`m${published}`), false);
          router.route(undefined, run(encodeMessage(topic, position, Buffer.from(`m${published}`), false)));
        };
        router.route(old, run(encodeRecover("room", 1, RECOVER_MODE.LIVE, undefined)));
        await new Promise((resolve) => setImmediate(resolve));
        for (const read of reads.splice(0)) read();
        await new Promise((resolve) => setImmediate(resolve));
        for (let n = 0; n < before; n += 1) publishLive();
        const since = Math.max(0, before - behind);
        router.route(late, run(encodeRecover("room", 2, RECOVER_MODE.SINCE, { epoch: "e1", offset: since })));
        for (let n = 0; n < during; n += 1) {
          if (n === readAt) for (const read of reads.splice(0)) read();
          publishLive();
        }
        for (const read of reads.splice(0)) read();
        await new Promise((resolve) => setTimeout(resolve, 1));
        const frames = late.frames.filter(([kind]) => kind === HISTORY.RECOVERED || kind === HISTORY.MESSAGE);
        const answerAt = frames.findIndex(([kind]) => kind === HISTORY.RECOVERED);
        assert.ok(answerAt >= 0, "answered");
        const answer = decodeRecovered(frames[answerAt][2]);
        const after = frames.slice(answerAt + 1).map(([, , body]) => decodeMessage(body).position.offset);
        assert.equal(answer.recovered, true);
        const offsets = [...answer.messages.map((m) => m.offset), ...after];
        assert.deepEqual(
          offsets,
          Array.from({ length: published - since }, (_, i) => since + 1 + i),
          "since+1 … last, once each",
        );
        const oldOffsets = old.frames
          .filter(([kind]) => kind === HISTORY.MESSAGE)
          .map(([, , body]) => decodeMessage(body).position.offset);
        assert.deepEqual(
          oldOffsets,
          Array.from({ length: published }, (_, i) => i + 1),
          "the served worker misses nothing meanwhile",
        );
      },
    ),
    { numRuns: 200 },
  );
});

test("broker sequencer: messages missed on pub/sub are read from the store and forwarded in order before the live ones", async () => {
  const { encodeMessage } = await import("../../dist/protocol/history-frames.js");
  const { store: redis } = fakeStore(100);
  const store = {
    append: (...args) => redis.append(...args),
    position: (topic) => Promise.resolve(redis.position(topic)),
    since: (topic, since, limit) => Promise.resolve(redis.since(topic, since, limit)),
  };
  const router = new BusRouter();
  let sequencer;
  router.sequenceThroughBroker((ports) => {
    sequencer = new BrokerSequencer(store, new Sequencer(fakeStore(100).store), 100, () => true, ports);
    return sequencer;
  });
  const worker = recordingPeer();
  router.join(worker);
  router.route(worker, run(encodeRecover("room", 1, RECOVER_MODE.LIVE, undefined)));
  await new Promise((resolve) => setTimeout(resolve, 1));
  const topic = Buffer.from("room");
  const lost = new Set([4, 5, 8]);
  for (let n = 1; n <= 10; n += 1) {
    const position = redis.append("room", Buffer.from(`m${n}`), false);
    if (!lost.has(n)) router.route(undefined, run(encodeMessage(topic, position, Buffer.from(`m${n}`), false)));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const received = worker.frames.filter(([kind]) => kind === HISTORY.MESSAGE).map(([, , body]) => decodeMessage(body));
  assert.deepEqual(
    received.map((m) => m.position.offset),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  assert.deepEqual(
    received.map((m) => String(m.payload)),
    Array.from({ length: 10 }, (_, i) => `m${i + 1}`),
  );
  assert.equal(sequencer.status().filledFromStore, 3);
  assert.equal(sequencer.status().lostOnPubSub, 0);
});

test("broker sequencer: offsets that go backwards with other messages (a failover) retire the epoch and renew it in the store", async () => {
  const { encodeMessage } = await import("../../dist/protocol/history-frames.js");
  const { store: redis } = fakeStore(100);
  const renewed = [];
  const store = {
    append: (...args) => redis.append(...args),
    position: (topic) => Promise.resolve(redis.position(topic)),
    since: (topic, since, limit) => Promise.resolve(redis.since(topic, since, limit)),
    renew: (topic) => {
      renewed.push(topic);
      return Promise.resolve({ epoch: "e9", offset: 0 });
    },
  };
  const router = new BusRouter();
  router.sequenceThroughBroker(
    (ports) => new BrokerSequencer(store, new Sequencer(fakeStore(10).store), 100, () => true, ports),
  );
  const worker = recordingPeer();
  router.join(worker);
  router.route(worker, run(encodeRecover("room", 1, RECOVER_MODE.LIVE, undefined)));
  await new Promise((resolve) => setTimeout(resolve, 1));
  const topic = Buffer.from("room");
  const live = (epoch, offset, text) =>
    router.route(undefined, run(encodeMessage(topic, { epoch, offset }, Buffer.from(text), false)));
  for (let n = 1; n <= 5; n += 1) live("e1", n, `m${n}`);
  live("e1", 5, "m5"); // a duplicate: dropped, nothing else
  assert.deepEqual(renewed, []);
  live("e1", 4, "other 4"); // the replica's 4th append: another history
  assert.deepEqual(renewed, ["room"]);
  live("e1", 5, "other 5"); // the old epoch's late ones: dropped
  live("e9", 1, "new 1");
  const received = worker.frames
    .filter(([kind]) => kind === HISTORY.MESSAGE)
    .map(([, , body]) => decodeMessage(body))
    .map(({ position, payload }) => `${position.epoch}:${position.offset}:${payload}`);
  assert.deepEqual(received, ["e1:1:m1", "e1:2:m2", "e1:3:m3", "e1:4:m4", "e1:5:m5", "e9:1:new 1"]);
});
