import assert from "node:assert/strict";
import { test } from "node:test";
import { chatFleet, member, statusJson } from "../helpers/chat.js";
import { eventually, runPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";
import { startRedisCluster } from "../helpers/redis-cluster.js";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const ROOMS = Array.from({ length: 9 }, (_, i) => `room${i}`);

/** The shard primary (its port) of each room's channel, `wsfleet:<name>:{<room>}`. */
function shardsOf(cluster, rooms) {
  return new Map(rooms.map((room) => [room, cluster.primaryOf(cluster.slotOf(`wsfleet:websockets-test:{${room}}`))]));
}

/** Two fleets, on 127.0.0.2 and 127.0.0.3, on one cluster; every RUNNING. */
function twoFleets(t, cluster, workers) {
  return Promise.all([
    chatFleet(t, { workers, host: "127.0.0.2", broker: cluster.url }),
    chatFleet(t, { workers, host: "127.0.0.3", broker: cluster.url }),
  ]);
}

/**
 * Waits until each fleet's broker has `count` subscriptions: a subscription counts once Redis has it, once per worker
 * (each worker is on Redis itself, docs/publish.md "Workers on Redis").
 */
async function subscribed(fleets, count) {
  const ok = await eventually(
    () => fleets.every((f) => statusJson(f.primary.child.pid).bus.broker.subscriptions === count),
    10_000,
  );
  assert.ok(ok, `subscriptions: ${fleets.map((f) => statusJson(f.primary.child.pid).bus.broker.subscriptions)}`);
  await pause(200);
}

test("redis+cluster: two fleets on 127.0.0.2/.3 sharing a 3-shard cluster; every room's messages exactly once", async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3 });
  const shards = shardsOf(cluster, ROOMS);
  assert.equal(new Set(shards.values()).size, 3, `the rooms' channels spread over the 3 shards: ${[...shards]}`);
  const fleets = await twoFleets(t, cluster, 2);
  const urls = fleets.flatMap((f) => f.urls);
  const members = new Map();
  for (const room of ROOMS) members.set(room, await Promise.all(urls.map((url) => member(url, room))));
  // Both workers of each fleet serve every room.
  await subscribed(fleets, ROOMS.length * 2);
  const count = 20;
  // Each room's publisher is on another worker and fleet in turn.
  for (let n = 0; n < count; n += 1) {
    for (const [r, room] of ROOMS.entries()) members.get(room)[r % urls.length].send(`${room}.${n}`);
  }
  const expected = (room) => Array.from({ length: count }, (_, n) => `T:${room}.${n}`);
  const all = [...members.values()].flat();
  assert.ok(await eventually(() => all.every((ws) => ws.heard.length >= count), 10_000), "every member heard all");
  await pause(200);
  for (const room of ROOMS) {
    for (const ws of members.get(room)) assert.deepEqual(ws.heard, expected(room), `${room}: once, in order`);
  }
  // The counts are the workers' (each is on the cluster itself), which reach the primary once a second.
  let broker;
  await eventually(() => {
    broker = statusJson(fleets[0].primary.child.pid).bus.broker;
    return broker.published > 0 && broker.received > 0;
  }, 5000);
  assert.equal(broker.state, "connected");
  assert.equal(broker.channel, "wsfleet:websockets-test:{<topic>}");
  assert.ok(broker.published > 0 && broker.received > 0 && broker.dropped === 0, JSON.stringify(broker));
  for (const ws of all) ws.close();
});

test("redis+cluster: one shard's primary killed, its replica promoted; only that shard's rooms lose, then resume", async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3, replicas: 1 });
  const shards = shardsOf(cluster, ROOMS);
  const [a, b] = await twoFleets(t, cluster, 1);
  const publishers = new Map();
  const listeners = new Map();
  for (const room of ROOMS) {
    publishers.set(room, await member(a.urls[0], room));
    listeners.set(room, await member(b.urls[0], room));
  }
  await subscribed([a, b], ROOMS.length);
  let sent = 0;
  const traffic = setInterval(() => {
    for (const room of ROOMS) publishers.get(room).send(`${sent}`);
    sent += 1;
  }, 10);
  t.after(() => clearInterval(traffic));
  const heardUpTo = (room, n) => () => listeners.get(room).heard.some((line) => Number(line.slice(2)) >= n);
  assert.ok(await eventually(() => ROOMS.every((room) => heardUpTo(room, 20)()), 10_000), "traffic flows");
  const killed = shards.get(ROOMS[0]);
  await cluster.kill(killed);
  assert.ok(await cluster.failedOver(killed), "a replica took over");
  const lostShard = ROOMS.filter((room) => shards.get(room) === killed);
  const after = sent;
  const resumed = await eventually(() => ROOMS.every((room) => heardUpTo(room, after + 20)()), 15_000);
  assert.ok(
    resumed,
    `delivery resumes in every room: sent ${sent}, last heard ${ROOMS.map((room) => `${room}@${shards.get(room)}=${listeners.get(room).heard.at(-1)}`)}, a ${JSON.stringify(statusJson(a.primary.child.pid).bus.broker)} b ${JSON.stringify(statusJson(b.primary.child.pid).bus.broker)}`,
  );
  clearInterval(traffic);
  const last = sent - 1;
  await eventually(() => ROOMS.every((room) => heardUpTo(room, last)()), 5000);
  await pause(200);
  const lost = {};
  for (const room of ROOMS) {
    const heard = listeners.get(room).heard.map((line) => Number(line.slice(2)));
    assert.deepEqual(
      heard,
      [...heard].sort((x, y) => x - y),
      `${room}: in order`,
    );
    assert.equal(new Set(heard).size, heard.length, `${room}: nothing twice`);
    lost[room] = sent - heard.length;
    if (!lostShard.includes(room)) assert.equal(lost[room], 0, `${room} is on a shard that stayed up: nothing lost`);
  }
  const broker = statusJson(a.primary.child.pid).bus.broker;
  const receiver = statusJson(b.primary.child.pid).bus.broker;
  const lostInShard = lostShard.reduce((total, room) => total + lost[room], 0);
  t.diagnostic(
    `sent ${sent} per room; lost ${JSON.stringify(lost)} (${lostInShard}); shard of ${lostShard}; publisher ${JSON.stringify(broker)}; receiver ${JSON.stringify(receiver)}`,
  );
  assert.equal(broker.state, "connected");
  // At most once, and every loss counted: the receiving fleet saw each one as a gap in the publisher's numbering of
  // the room (what failed at the publisher, and what reached the new primary before the resubscription there).
  assert.equal(receiver.lost, lostInShard, JSON.stringify(receiver));
  assert.equal(receiver.received, ROOMS.length * sent - lostInShard, "what it received is what the members heard");
  assert.ok(lostInShard === 0 || broker.dropped + broker.errors > 0, JSON.stringify(broker));
  for (const ws of [...publishers.values(), ...listeners.values()]) ws.close();
});

test("redis+cluster: unreachable seeds are exit 2 naming --broker; a malformed URL too", async () => {
  const port = await freePortRange(2);
  const unreachable = await runPrimary([
    "--workers",
    "1",
    "--base-port",
    String(port),
    "--broker",
    `redis+cluster://127.0.0.1:${port + 1}`,
  ]);
  assert.equal(unreachable.code, 2);
  assert.match(
    unreachable.stderr,
    /WSFLEET_BROKER_UNREACHABLE: cannot reach --broker redis\+cluster:\/\/127\.0\.0\.1:\d+/,
  );
  assert.doesNotMatch(unreachable.stderr, /spawned/);
  const malformed = await runPrimary(["--workers", "1", "--broker", "redis+cluster://a:1,,b:2"]);
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /invalid value for --broker: "redis\+cluster:\/\/a:1,,b:2"; expected a Redis URL/);
});
