import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { Cluster, Redis } from "ioredis";
import { RedisHistoryStore } from "../../dist/history/redis-store.js";
import { decodeSequenced, encodeSequenced } from "../../dist/history/sequenced-frame.js";
import { eventually } from "../helpers/fleet.js";
import { startRedis } from "../helpers/redis.js";
import { startRedisCluster } from "../helpers/redis-cluster.js";

const NAME = "hist";
const ORIGIN = Buffer.from("origin01");

/** A client closed when the test ends; `options` as the broker's (no offline queue: a command fails while Redis is away). */
function client(t, port, options = {}) {
  const redis = new Redis({ port, host: "127.0.0.1", ...options });
  t.after(() => redis.disconnect());
  return redis;
}

/** Every message published on `channels` (sequenced frames, the origin cut off), as they arrive. */
async function listen(t, port, ...channels) {
  const subscriber = client(t, port);
  const heard = [];
  subscriber.on("messageBuffer", (channel, message) => {
    assert.deepEqual(message.subarray(0, ORIGIN.length), ORIGIN, "the message starts with the prefix");
    heard.push({ channel: channel.toString(), frame: message.subarray(ORIGIN.length) });
  });
  await subscriber.subscribe(...channels);
  return heard;
}

const text = (messages) => messages.map((m) => `${m.offset}:${m.isBinary ? "b" : "t"}:${m.payload}`);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test("redis history: offsets 1..N without a gap, the last n kept, each publish on the topic's channel with its position", async (t) => {
  const redis = await startRedis(t);
  const heard = await listen(t, redis.port, `wsfleet:${NAME}:lobby`);
  const store = new RedisHistoryStore(client(t, redis.port), NAME, 4, 60, { prefix: ORIGIN });
  const fresh = await store.position("lobby");
  assert.equal(fresh.offset, 0, "a topic never published is at offset 0");
  const positions = [];
  for (const n of range(1, 10)) positions.push(await store.append("lobby", Buffer.from(`m${n}`), n === 7));
  assert.deepEqual(
    positions.map((p) => p.offset),
    range(1, 10),
  );
  assert.ok(
    positions.every((p) => p.epoch === fresh.epoch),
    "position() made the epoch the publishes use",
  );
  assert.deepEqual(await store.position("lobby"), { epoch: fresh.epoch, offset: 10 });
  // The stream's IDs are the offsets, <offset>-0; history gives exactly the last n = 4 (Redis trims by whole nodes).
  const raw = client(t, redis.port);
  const entries = await raw.xrange(`wsfleet:${NAME}:{lobby}:log`, "-", "+");
  assert.deepEqual(
    entries.map(([id]) => id),
    range(11 - entries.length, 10).map((n) => `${n}-0`),
  );
  const { messages } = await store.since("lobby", { epoch: fresh.epoch, offset: 6 });
  assert.deepEqual(
    messages.map((m) => m.offset),
    [7, 8, 9, 10],
  );
  assert.equal((await store.since("lobby", { epoch: fresh.epoch, offset: 5 })).recovered, false);
  // Bounded: 1,000 appends later Redis holds n and at most one stream node (100 entries by default) more.
  await Promise.all(range(1, 1000).map((n) => store.append("capped", Buffer.from(`c${n}`), false)));
  const kept = await raw.xlen(`wsfleet:${NAME}:{capped}:log`);
  assert.ok(kept >= 4 && kept <= 104, `stream length ${kept}`);
  // Live delivery: the script's bytes are encodeSequenced's, in offset order.
  assert.ok(await eventually(() => heard.length === 10), `heard ${heard.length}`);
  for (const [i, { frame }] of heard.entries()) {
    const n = i + 1;
    assert.deepEqual(frame, encodeSequenced(Buffer.from("lobby"), positions[i], Buffer.from(`m${n}`), n === 7));
    assert.deepEqual(decodeSequenced(frame), {
      topicKey: "lobby",
      position: positions[i],
      payload: Buffer.from(`m${n}`),
      isBinary: n === 7,
    });
  }
});

test("redis history: since() recovers after an offset in the history, and says not recovered otherwise", async (t) => {
  const redis = await startRedis(t);
  const store = new RedisHistoryStore(client(t, redis.port), NAME, 3, 60);
  const { epoch } = await store.position("room");
  assert.deepEqual(await store.since("room", { epoch, offset: 0 }), {
    recovered: true,
    position: { epoch, offset: 0 },
    messages: [],
  });
  for (const n of range(1, 5)) await store.append("room", Buffer.from(`m${n}`), n === 4);
  const now = { epoch, offset: 5 };
  const since = async (position, limit) => {
    const answer = await store.since("room", position, limit);
    return answer.recovered ? { ...answer, messages: text(answer.messages) } : answer;
  };
  // Oldest stored is 3: after 2 (oldest - 1) is recoverable, after 1 is not.
  assert.deepEqual(await since({ epoch, offset: 2 }), {
    recovered: true,
    position: now,
    messages: ["3:t:m3", "4:b:m4", "5:t:m5"],
  });
  assert.deepEqual(await since({ epoch, offset: 4 }), { recovered: true, position: now, messages: ["5:t:m5"] });
  assert.deepEqual(await since(now), { recovered: true, position: now, messages: [] });
  // A limit: the position is the last message given, to ask again from.
  assert.deepEqual(await since({ epoch, offset: 2 }, 2), {
    recovered: true,
    position: { epoch, offset: 4 },
    messages: ["3:t:m3", "4:b:m4"],
  });
  const refused = { recovered: false, position: now };
  for (const position of [
    { epoch, offset: 1 },
    { epoch, offset: 0 },
    { epoch, offset: 6 },
    { epoch: "another", offset: 4 },
    { epoch, offset: 2.5 },
    { epoch, offset: -1 },
    { epoch, offset: Number.NaN },
    { epoch, offset: "4" },
    { epoch: undefined, offset: 4 },
    {},
  ]) {
    assert.deepEqual(await since(position), refused, JSON.stringify(position));
  }
  assert.deepEqual(await store.since("room", undefined), refused, "no position at all");
});

test("redis history: FLUSHALL, a Redis restarted empty or a key evicted start a new epoch; the old one is refused", async (t) => {
  const redis = await startRedis(t);
  const raw = client(t, redis.port, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 100 });
  raw.on("error", () => {});
  await once(raw, "ready");
  const store = new RedisHistoryStore(raw, NAME, 10, 60);
  const epochs = [];
  const lose = [
    () => raw.flushall(),
    async () => {
      await redis.stop();
      await assert.rejects(store.append("room", Buffer.from("lost"), false), "Redis away: the append fails, at once");
      await redis.start();
      assert.ok(await eventually(() => raw.status === "ready", 10_000), `reconnected: ${raw.status}`);
    },
    () => raw.del(`wsfleet:${NAME}:{room}:log`),
    () => raw.del(`wsfleet:${NAME}:{room}:seq`),
    () => raw.del(`wsfleet:${NAME}:{room}:epoch`),
  ];
  for (const loseIt of [...lose, undefined]) {
    await store.append("room", Buffer.from("a"), false);
    const before = await store.append("room", Buffer.from("b"), false);
    assert.equal(before.offset, 2);
    epochs.push(before.epoch);
    if (!loseIt) break;
    await loseIt();
    const answer = await store.since("room", before);
    assert.equal(answer.recovered, false);
    assert.notEqual(answer.position.epoch, before.epoch);
    assert.equal(answer.position.offset, 0);
    assert.equal((await store.append("room", Buffer.from("c"), false)).epoch, answer.position.epoch);
    await raw.flushall();
  }
  assert.equal(new Set(epochs).size, 6, `every history its own epoch: ${epochs}`);
  // renew(): what a fleet asks when a topic's offsets went backwards (a failover): a new epoch, the old refused.
  const renewed = await store.renew("room");
  assert.deepEqual(renewed.offset, 0);
  assert.ok(!epochs.includes(renewed.epoch));
  assert.deepEqual(await store.position("room"), renewed);
  assert.deepEqual(await store.since("room", { epoch: epochs[5], offset: 2 }), { recovered: false, position: renewed });
  assert.deepEqual(await store.append("room", Buffer.from("d"), false), { epoch: renewed.epoch, offset: 1 });
});

test("redis history: a topic with no publish for the TTL loses its keys; touch() keeps them", async (t) => {
  const redis = await startRedis(t);
  const raw = client(t, redis.port);
  const keys = (topic) => ["seq", "log", "epoch"].map((key) => `wsfleet:${NAME}:{${topic}}:${key}`);
  const store = new RedisHistoryStore(raw, NAME, 10, 1);
  const first = await store.append("brief", Buffer.from("x"), false);
  assert.equal(await raw.exists(...keys("brief")), 3);
  assert.ok(await eventually(async () => (await raw.exists(...keys("brief"))) === 0, 10_000), "the keys expired");
  const next = await store.append("brief", Buffer.from("y"), false);
  assert.equal(next.offset, 1);
  assert.notEqual(next.epoch, first.epoch);
  assert.equal((await store.since("brief", first)).recovered, false);
  // touch(): every key back to the full TTL; a topic without keys gets none.
  const kept = new RedisHistoryStore(raw, NAME, 10, 60);
  await kept.append("kept", Buffer.from("x"), false);
  for (const key of keys("kept")) await raw.expire(key, 5);
  assert.equal(await kept.touch("kept"), true);
  assert.deepEqual(await Promise.all(keys("kept").map((key) => raw.ttl(key))), [60, 60, 60]);
  assert.equal(await kept.touch("none"), false);
  assert.equal(await raw.exists(...keys("none")), 0);
});

test("redis history: two clients appending at once interleave without a gap or a duplicate", async (t) => {
  const redis = await startRedis(t);
  const heard = await listen(t, redis.port, `wsfleet:${NAME}:busy`);
  const stores = [0, 1].map(() => new RedisHistoryStore(client(t, redis.port), NAME, 2000, 60, { prefix: ORIGIN }));
  const each = 500;
  const results = await Promise.all(
    stores.map((store, s) =>
      Promise.all(range(1, each).map((n) => store.append("busy", Buffer.from(`${s}.${n}`), false))),
    ),
  );
  const offsets = results.flat().map((p) => p.offset);
  assert.deepEqual(
    [...offsets].sort((a, b) => a - b),
    range(1, 2 * each),
    "1..1000, each once",
  );
  for (const [s, positions] of results.entries()) {
    const own = positions.map((p) => p.offset);
    assert.deepEqual(
      own,
      [...own].sort((a, b) => a - b),
      `client ${s}'s offsets rise in its send order`,
    );
  }
  assert.ok(await eventually(() => heard.length === 2 * each), `heard ${heard.length}`);
  assert.deepEqual(
    heard.map(({ frame }) => decodeSequenced(frame).position.offset),
    range(1, 2 * each),
    "live in offset order",
  );
  const { messages } = await stores[0].since("busy", { epoch: results[0][0].epoch, offset: 0 });
  assert.deepEqual(
    messages.map((m) => m.offset),
    range(1, 2 * each),
  );
});

test("redis history on a 3-node Redis Cluster: topics on each shard, keys beside their channel, SPUBLISH from Lua reaches SSUBSCRIBE", async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3 });
  const seeds = cluster.ports.map((port) => ({ host: "127.0.0.1", port }));
  const open = (options = {}) => {
    const c = new Cluster(seeds, options);
    t.after(() => c.disconnect());
    return c;
  };
  const rooms = Array.from({ length: 9 }, (_, i) => `room${i}`);
  const channel = (room) => `wsfleet:${NAME}:{${room}}`;
  const shardOf = new Map(rooms.map((room) => [room, cluster.primaryOf(cluster.slotOf(channel(room)))]));
  assert.equal(new Set(shardOf.values()).size, 3, `the rooms spread over the 3 shards: ${[...shardOf]}`);
  const subscriber = open({ shardedSubscribers: true });
  const heard = new Map(rooms.map((room) => [room, []]));
  subscriber.on("smessageBuffer", (name, message) => {
    const { topicKey, position, payload } = decodeSequenced(message.subarray(ORIGIN.length));
    assert.equal(name.toString(), channel(topicKey));
    heard.get(topicKey).push(`${position.offset}:${payload}`);
  });
  for (const room of rooms) await subscriber.ssubscribe(channel(room));
  const store = new RedisHistoryStore(open(), NAME, 5, 60, { prefix: ORIGIN });
  const count = 8;
  for (const n of range(1, count)) {
    const positions = await Promise.all(rooms.map((room) => store.append(room, Buffer.from(`${room}.${n}`), false)));
    assert.deepEqual(
      positions.map((p) => p.offset),
      rooms.map(() => n),
    );
  }
  const expected = (room) => range(1, count).map((n) => `${n}:${room}.${n}`);
  assert.ok(
    await eventually(() => rooms.every((room) => heard.get(room).length === count)),
    JSON.stringify([...heard]),
  );
  for (const room of rooms) {
    assert.deepEqual(heard.get(room), expected(room), `${room}: every message once, in order`);
    // The three keys are on the node that owns the channel.
    const exists = spawnSync(
      "redis-cli",
      ["-p", String(shardOf.get(room)), "exists", ...["seq", "log", "epoch"].map((k) => `${channel(room)}:${k}`)],
      { encoding: "utf8" },
    );
    assert.equal(exists.stdout.trim(), "3", `${room}'s keys on its channel's shard`);
    const { epoch } = await store.position(room);
    const answer = await store.since(room, { epoch, offset: count - 5 });
    assert.deepEqual(
      answer.recovered && text(answer.messages),
      expected(room)
        .slice(-5)
        .map((m) => m.replace(/^(\d+):/, "$1:t:")),
    );
    assert.equal(
      (await store.since(room, { epoch, offset: count - 6 })).recovered,
      false,
      "older than the oldest kept",
    );
  }
});

test("redis history on a Redis Cluster: a shard's primary killed, its replica promoted; the history and offsets go on", async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3, replicas: 1 });
  // The cluster broker's options: no offline queue, no delayed retries, slots refreshed every second.
  const c = new Cluster(
    cluster.ports.map((port) => ({ host: "127.0.0.1", port })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      slotsRefreshInterval: 1000,
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      retryDelayOnTryAgain: 0,
      clusterRetryStrategy: () => 100,
      redisOptions: { maxRetriesPerRequest: 0 },
    },
  );
  c.on("error", () => {});
  t.after(() => c.disconnect());
  await c.connect();
  const store = new RedisHistoryStore(c, NAME, 100, 60);
  let last;
  for (const n of range(1, 20)) last = await store.append("room0", Buffer.from(`m${n}`), false);
  const seq = `wsfleet:${NAME}:{room0}:seq`;
  const primary = cluster.primaryOf(cluster.slotOf(seq));
  const onReplica = (port) =>
    spawnSync("redis-cli", ["-p", String(port)], { input: `READONLY\nGET ${seq}\n`, encoding: "utf8" }).stdout;
  const replicated = () => cluster.ports.some((port) => port !== primary && /^OK\n20\n$/.test(onReplica(port)));
  assert.ok(await eventually(replicated, 10_000), "the replica has the 20 publishes");
  await cluster.kill(primary);
  assert.ok(await cluster.failedOver(primary), "a replica took over");
  // Appends fail while the shard has no primary (at most once), then go on from where the replica was.
  let next;
  const appended = async () => {
    next = await store.append("room0", Buffer.from("after"), false).catch(() => undefined);
    return next !== undefined;
  };
  assert.ok(await eventually(appended, 20_000), "appends resume on the promoted replica");
  assert.deepEqual(next, { epoch: last.epoch, offset: 21 });
  const answer = await store.since("room0", { epoch: last.epoch, offset: 10 });
  assert.deepEqual(text(answer.messages), [...range(11, 20).map((n) => `${n}:t:m${n}`), "21:t:after"]);
});
