import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket from "ws";
import { CHAT, chatFleet, statusJson } from "../helpers/chat.js";
import { eventually, PRIMARY, runPrimary, startPrimary } from "../helpers/fleet.js";
import { rollingRestartCase } from "../helpers/history.js";
import { startRedis } from "../helpers/redis.js";
import { startRedisCluster } from "../helpers/redis-cluster.js";

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that records every message from its first (a recovery may come in the same read as the handshake). */
async function listen(url, parse = true) {
  const ws = new WebSocket(url);
  ws.heard = [];
  ws.on("message", (data) => ws.heard.push(parse ? JSON.parse(String(data)) : String(data)));
  await once(ws, "open");
  return ws;
}

/** The first `count` messages `ws` heard, once it has them. */
async function heardFirst(ws, count = 1) {
  assert.ok(await eventually(() => ws.heard.length >= count, 5000), `${count} messages heard`);
  return ws.heard.slice(0, count);
}

test("--history: a rolling restart (SIGHUP, --haproxy, 4 workers, --drain-spread 2) under 200 msg/s to 200 reconnecting subscribers: every one has every message once, in order", async (t) => {
  const figures = await rollingRestartCase(t, { subscribers: 200, perSecond: 200 });
  t.diagnostic(`rolling restart with history: ${JSON.stringify(figures)}`);
});

test("--history --broker: two fleets (127.0.0.2, 127.0.0.3) sharing one Redis, a rolling restart of one under 200 msg/s to 200 subscribers over both: every one has every message once, in order", async (t) => {
  const redis = await startRedis(t);
  const figures = await rollingRestartCase(t, { subscribers: 200, perSecond: 200, broker: redis.url });
  t.diagnostic(`two fleets on one Redis, rolling restart of one: ${JSON.stringify(figures)}`);
});

test("--history: recovery across a hub restart is refused with recovered:false and a new epoch; malformed, future and unknown positions too; the worker never crashes", async (t) => {
  const first = await chatFleet(t, { workers: 2, extra: ["--history", "100"] });
  const [url0, url1] = first.urls;
  const alice = await listen(`${url0}?room=lobby`);
  const bob = await listen(`${url1}?room=lobby`);
  await sleep(200);
  for (const text of ["one", "two", "three"]) alice.send(text);
  const heard = await heardFirst(bob, 3);
  assert.deepEqual(
    heard.map((m) => [m.room, m.offset, m.data]),
    [
      ["lobby", 1, "one"],
      ["lobby", 2, "two"],
      ["lobby", 3, "three"],
    ],
  );
  const { epoch } = heard[0];
  assert.match(epoch, /^[A-Za-z0-9_-]{8,}$/);

  // Bad input on the running fleet: each is told where the room is, then gets the live ones.
  for (const query of [
    `epoch=${epoch}&offset=abc`,
    `epoch=${epoch}&offset=`,
    `epoch=${epoch}&offset=99`,
    "epoch=nope&offset=1",
    `offset=2`,
  ]) {
    const ws = await listen(`${url1}?room=lobby&${query}`);
    assert.deepEqual((await heardFirst(ws))[0], { room: "lobby", recovered: false, epoch, offset: 3 }, query);
    ws.close();
  }
  const recovered = await listen(`${url0}?room=lobby&epoch=${epoch}&offset=1`);
  const again = await heardFirst(recovered, 2);
  assert.deepEqual(
    again.map((m) => [m.offset, m.data]),
    [
      [2, "two"],
      [3, "three"],
    ],
    "a good position still recovers after all that",
  );
  const pids = first.pids;
  for (const pid of pids) assert.doesNotThrow(() => process.kill(pid, 0), "the workers are still the same processes");
  for (const ws of [alice, bob, recovered]) ws.close();

  // The fleet stops and starts again (a hub restart): the old position belongs to a lost history.
  first.primary.child.kill("SIGTERM");
  await first.primary.exited;
  const port = Number(new URL(url0).port);
  const second = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--app", CHAT, "--history", "100"],
  ]);
  await second.waitForRunning(1);
  const back = await listen(`${url0}?room=lobby&epoch=${epoch}&offset=3`);
  const [told] = await heardFirst(back);
  assert.equal(told.recovered, false, "refused, never a silent gap");
  assert.notEqual(told.epoch, epoch, "a new epoch");
  assert.equal(told.offset, 0, "the new history is empty");
  back.send("four");
  assert.deepEqual((await heardFirst(back, 2))[1], { room: "lobby", epoch: told.epoch, offset: 1, data: "four" });
  back.close();
});

test("without --history the chat room is as before: plain messages, no envelope, a position is ignored", async (t) => {
  const { urls } = await chatFleet(t, { workers: 2 });
  const a = await listen(`${urls[0]}?room=lobby&epoch=x&offset=3`, false);
  const b = await listen(`${urls[1]}?room=lobby`, false);
  await sleep(200);
  a.send("hello");
  assert.deepEqual(await heardFirst(b), ["hello"]);
  assert.deepEqual(await heardFirst(a), ["hello"], "no resync message: there is no history");
  a.close();
  b.close();
});

test("wsfleet client shows a recovery: the messages after the offset in the URL, first, as they arrive with the handshake", async (t) => {
  const { urls } = await chatFleet(t, { workers: 1, extra: ["--history", "10"] });
  const alice = await listen(`${urls[0]}?room=lobby`);
  for (const text of ["one", "two", "three"]) alice.send(text);
  const [first] = await heardFirst(alice, 3);
  const client = spawn(process.execPath, [PRIMARY, "client", `${urls[0]}?room=lobby&epoch=${first.epoch}&offset=1`], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  t.after(() => client.kill("SIGKILL"));
  let output = "";
  client.stdout.on("data", (chunk) => {
    output += chunk;
  });
  assert.ok(await eventually(() => output.includes('"offset":3'), 5000), `the client printed the recovery: ${output}`);
  client.stdin.end();
  const [code] = await once(client, "exit");
  assert.equal(code, 0);
  const shown = output.split("\n").filter((line) => line.includes("< {"));
  assert.deepEqual(
    shown.map((line) => JSON.parse(line.slice(line.indexOf("< {") + 2)).data),
    ["two", "three"],
  );
  alice.close();
});

test("--history --broker: Redis lost while running: publishes go on locally and are counted; Redis back empty: a new epoch, and an old position is refused", async (t) => {
  const redis = await startRedis(t);
  const { urls, primary } = await chatFleet(t, { workers: 2, broker: redis.url, extra: ["--history", "100"] });
  const alice = await listen(`${urls[0]}?room=lobby`);
  const bob = await listen(`${urls[1]}?room=lobby`);
  await sleep(300);
  alice.send("before");
  const [before] = await heardFirst(bob);
  assert.equal(before.offset, 1);
  await redis.stop();
  await sleep(300);
  alice.send("while away");
  const [, away] = await heardFirst(bob, 2);
  assert.equal(away.data, "while away", "delivered in this fleet while Redis is away");
  assert.notEqual(away.epoch, before.epoch, "under the primary's own epoch: not a position in Redis' history");
  await redis.start();
  const back = await eventually(async () => {
    alice.send("back");
    await sleep(200);
    return bob.heard.some((m) => m.data === "back" && m.epoch !== before.epoch && m.epoch !== away.epoch);
  }, 15_000);
  assert.ok(back, "Redis back, empty: its script starts a new epoch");
  const late = await listen(`${urls[1]}?room=lobby&epoch=${before.epoch}&offset=1`);
  const [told] = await heardFirst(late);
  assert.equal(told.recovered, false, "the history before Redis was lost is refused, never a silent gap");
  const status = JSON.parse((await runPrimary(["status", "--pid", String(primary.child.pid), "--json"])).stdout);
  assert.ok(status.bus.history.sequencedLocally >= 1, `counted: ${JSON.stringify(status.bus.history)}`);
  assert.equal(status.bus.broker.lost, 0, "sequenced messages carry no broker numbering: none counted lost by it");
  for (const ws of [alice, bob, late]) ws.close();
});

test("--history --broker redis+cluster://: two fleets on a 3-shard cluster agree on every room's offsets, and a client recovers on the other fleet (from its ring, or from the cluster when it serves no one there)", async (t) => {
  const cluster = await startRedisCluster(t, { masters: 3 });
  const rooms = ["red", "green", "blue", "amber"];
  const [a, b] = await Promise.all(
    ["127.0.0.2", "127.0.0.3"].map((host) =>
      chatFleet(t, { workers: 1, host, broker: cluster.url, extra: ["--history", "50"] }),
    ),
  );
  const members = new Map();
  for (const room of rooms) {
    members.set(room, [await listen(`${a.urls[0]}?room=${room}`), await listen(`${b.urls[0]}?room=${room}`)]);
  }
  await sleep(500);
  for (let n = 1; n <= 10; n += 1) {
    for (const [r, room] of rooms.entries()) members.get(room)[(n + r) % 2].send(`${room} ${n}`);
  }
  for (const room of rooms) {
    const [onA, onB] = members.get(room);
    await heardFirst(onA, 10);
    await heardFirst(onB, 10);
    assert.deepEqual(onA.heard, onB.heard, `${room}: the same offsets and data on both fleets`);
    assert.deepEqual(
      onA.heard.map((m) => m.offset),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    const { epoch } = onA.heard[0];
    // A client of fleet A comes back on fleet B with offset 4: 5-10 from the cluster's stream, then the live ones.
    const back = await listen(`${b.urls[0]}?room=${room}&epoch=${epoch}&offset=4`);
    const recovered = await heardFirst(back, 6);
    assert.deepEqual(
      recovered.map((m) => m.offset),
      [5, 6, 7, 8, 9, 10],
    );
    back.close();
  }
  // A room only fleet A serves: fleet B has no ring for it, so its recovery is read from the cluster (XRANGE).
  const solo = await listen(`${a.urls[0]}?room=solo`);
  await sleep(300);
  for (let n = 1; n <= 8; n += 1) solo.send(`solo ${n}`);
  const [first] = await heardFirst(solo, 8);
  const fromRedis = await listen(`${b.urls[0]}?room=solo&epoch=${first.epoch}&offset=3`);
  assert.deepEqual(
    (await heardFirst(fromRedis, 5)).map((m) => m.data),
    ["solo 4", "solo 5", "solo 6", "solo 7", "solo 8"],
  );
  // Its live messages reach fleet B once its subscription to the room's channel has taken (a SUBSCRIBE on the way).
  const subscribed = () => statusJson(b.primary.child.pid).bus.broker.subscriptions === rooms.length + 1;
  assert.ok(await eventually(subscribed, 10_000), "fleet B subscribed to the solo room");
  solo.send("solo 9");
  assert.deepEqual((await heardFirst(fromRedis, 6))[5], {
    room: "solo",
    epoch: first.epoch,
    offset: 9,
    data: "solo 9",
  });
  for (const ws of [...[...members.values()].flat(), solo, fromRedis]) ws.close();
});
