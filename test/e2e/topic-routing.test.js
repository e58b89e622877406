import assert from "node:assert/strict";
import { test } from "node:test";
import { chatFleet, member, statusJson } from "../helpers/chat.js";
import { eventually } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `wsfleet status` shows every worker's counters passing `check` (they come once a second). */
async function statusWhen(pid, check, what) {
  let status;
  const ok = await eventually(() => {
    status = statusJson(pid);
    return status.workers.every((w) => w.counters) && check(status);
  }, 10_000);
  assert.ok(ok, `${what}: ${JSON.stringify(status?.bus)} ${JSON.stringify(status?.workers.map((w) => w.counters))}`);
  return status;
}

const sum = (status, key) => status.workers.reduce((total, w) => total + w.counters[key], 0);

test("topic routing, 3 workers: a topic served on one worker never leaves it; a shared one reaches all once, in order", async (t) => {
  const metricsPort = await freePortRange(1);
  const { urls, primary } = await chatFleet(t, { workers: 3, extra: ["--metrics", String(metricsPort)] });
  const pid = primary.child.pid;
  const solo = [];
  const shared = [];
  for (const [i, url] of urls.entries()) {
    solo.push(await member(url, `solo${i}`));
    shared.push(await member(url, "all"));
  }
  const pair = [await member(urls[0], "pair"), await member(urls[1], "pair")];
  // A subscription counts fleet-wide once the hub has it: wait for all of them before publishing.
  await statusWhen(
    pid,
    (s) => s.bus.topics === 5 && s.workers.map((w) => w.counters.topics).join() === "3,3,2",
    "served",
  );
  const count = 50;
  for (let n = 0; n < count; n += 1) {
    for (const [i, ws] of solo.entries()) ws.send(`s${i}.${n}`);
    for (const [i, ws] of shared.entries()) ws.send(`a${i}.${n}`);
    pair[0].send(`p.${n}`);
  }
  const heardAll = () =>
    solo.every((ws) => ws.heard.length >= count) &&
    shared.every((ws) => ws.heard.length >= 3 * count) &&
    pair.every((ws) => ws.heard.length >= count);
  assert.ok(await eventually(heardAll, 10_000), "every member heard its room");
  await pause(200);
  const sequence = (prefix) => Array.from({ length: count }, (_, n) => `T:${prefix}.${n}`);
  for (const [i, ws] of solo.entries()) assert.deepEqual(ws.heard, sequence(`s${i}`), `solo${i}: once, in order`);
  for (const ws of pair) assert.deepEqual(ws.heard, sequence("p"), "pair: once, in order");
  for (const ws of shared) {
    assert.equal(ws.heard.length, 3 * count, "nothing twice");
    for (let i = 0; i < 3; i += 1) {
      assert.deepEqual(
        ws.heard.filter((line) => line.startsWith(`T:a${i}.`)),
        sequence(`a${i}`),
        `all: worker ${i}'s in its order`,
      );
    }
  }
  // Counted: the solo publishes stayed in their workers; the hub had the shared ones (to 2 workers each) and the
  // pair's (to worker 1, worker 2 skipped).
  // Each worker's counters come once a second: wait until the latest of every worker covers all it did.
  const status = await statusWhen(
    pid,
    (s) => sum(s, "published") === 7 * count && sum(s, "delivered") === 7 * count,
    "published and delivered",
  );
  assert.equal(sum(status, "kept"), 3 * count, "solo publishes never left their worker");
  assert.deepEqual(
    status.workers.map((w) => w.counters.delivered),
    [2 * count, 3 * count, 2 * count],
    "each worker got only publishes of topics it serves",
  );
  assert.equal(status.bus.forwarded, 4 * count);
  assert.equal(status.bus.sent, 7 * count);
  assert.equal(status.bus.skipped, count, "the pair's publishes skipped worker 2");
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  assert.match(metrics, new RegExp(`^wsfleet_bus_skipped_total ${count}$`, "m"));
  assert.match(metrics, /^wsfleet_bus_topics 5$/m);
  assert.match(metrics, /^wsfleet_publish_topics\{worker="websockets-test_02",port="\d+"\} 2$/m);
  assert.match(
    metrics,
    new RegExp(`^wsfleet_publish_kept_total\\{worker="websockets-test_00",port="\\d+"\\} ${count}$`, "m"),
  );

  // The last subscriber of "pair" on worker 1 leaves (its close unsubscribes): worker 0 keeps the pair's publishes.
  pair[1].close();
  await statusWhen(pid, (s) => s.bus.topics === 5 && s.workers[1].counters.topics === 2, "pair left worker 1");
  for (let n = 0; n < count; n += 1) pair[0].send(`q.${n}`);
  assert.ok(await eventually(() => pair[0].heard.length === 2 * count, 10_000));
  const after = await statusWhen(pid, (s) => sum(s, "published") === 8 * count, "published after");
  assert.equal(sum(after, "kept"), 4 * count, "nobody else serves pair now");
  assert.equal(after.bus.forwarded, 4 * count, "so none of it reached the hub");
  for (const ws of [...solo, ...shared, pair[0]]) ws.close();
});

test("topic routing: subscribers joining and leaving under traffic get a gapless run, nothing twice or out of order", async (t) => {
  const { urls } = await chatFleet(t, { workers: 2 });
  const publisher = await member(urls[0], "race");
  let sent = 0;
  const traffic = setInterval(() => {
    for (let k = 0; k < 5; k += 1) publisher.send(`${sent++}`);
  }, 2);
  t.after(() => clearInterval(traffic));
  // Each joins on the other worker while messages flow: the first subscriber there turns the topic's routing on.
  // The next one connects as the last leaves, so publishes routed under the old subscription are still on the way.
  const rounds = [];
  for (let round = 0; round < 20; round += 1) {
    const late = await member(urls[1], "race");
    await eventually(() => late.heard.length >= 10, 5000);
    late.close();
    rounds.push(late.heard.map((line) => Number(line.slice(2))));
  }
  clearInterval(traffic);
  for (const heard of rounds) {
    assert.ok(heard.length >= 10, `heard ${heard.length}`);
    const first = heard[0];
    assert.deepEqual(
      heard,
      Array.from({ length: heard.length }, (_, n) => first + n),
      "a contiguous run: once each, in order",
    );
  }
  publisher.close();
});
