import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { assertRoomsSpan, chatFleet, member, statusJson } from "../helpers/chat.js";
import { eventually, isAlive, runPrimary, within } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";
import { rawConnect } from "../helpers/raw-ws.js";
import { startRedis } from "../helpers/redis.js";

test("embedded bus: a room spans every worker; exactly once, in order, binary stays binary, no other room", async (t) => {
  const { urls, primary } = await chatFleet(t, { workers: 3 });
  await assertRoomsSpan(urls, 30);
  // The counters reach `wsfleet status`: 3 red publishers and 1 blue, 30 each.
  await eventually(() => statusJson(primary.child.pid).workers.every((w) => w.counters?.published !== undefined));
  const published = () => statusJson(primary.child.pid).workers.reduce((sum, w) => sum + w.counters.published, 0);
  assert.ok(await eventually(() => published() === 120, 5000), `published ${published()}`);
});

test("--broker: two fleets on 127.0.0.2 and 127.0.0.3 sharing one Redis are one room", async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await Promise.all([
    chatFleet(t, { workers: 2, host: "127.0.0.2", broker: redis.url }),
    chatFleet(t, { workers: 2, host: "127.0.0.3", broker: redis.url }),
  ]);
  const green = await member(a.urls[0], "green");
  await assertRoomsSpan([...a.urls, ...b.urls], 20);
  // A channel per topic, subscribed while some worker of the fleet serves it: red and blue left, green stays.
  let broker;
  await eventually(() => {
    broker = statusJson(a.primary.child.pid).bus.broker;
    return broker.subscriptions === 1;
  }, 5000);
  assert.equal(broker.subscriptions, 1, JSON.stringify(broker));
  assert.equal(broker.state, "connected");
  assert.equal(broker.channel, "wsfleet:websockets-test:<topic>");
  // The counts are the workers' (each is on Redis itself), which reach the primary once a second.
  await eventually(() => statusJson(b.primary.child.pid).bus.broker.subscriptions === 0, 5000);
  assert.equal(statusJson(b.primary.child.pid).bus.broker.subscriptions, 0);
  green.close();
  assert.ok(broker.published > 0 && broker.received > 0, JSON.stringify(broker));
  // Each worker is on Redis itself (no --history): its own counts, summed into the fleet's above.
  const workers = statusJson(b.primary.child.pid).workers.map((w) => w.counters.broker);
  assert.ok(
    workers.every((counts) => counts?.published > 0),
    JSON.stringify(workers),
  );
});

test("--broker: a room left and joined again on the other fleet under traffic; what came between is not counted lost", async (t) => {
  const redis = await startRedis(t);
  const [a, b] = await Promise.all([
    chatFleet(t, { workers: 1, host: "127.0.0.2", broker: redis.url }),
    chatFleet(t, { workers: 1, host: "127.0.0.3", broker: redis.url }),
  ]);
  const publisher = await member(a.urls[0], "teal");
  let sent = 0;
  const traffic = setInterval(() => publisher.send(`m${sent++}`), 10);
  t.after(() => clearInterval(traffic));
  const subscriptions = (count) => () => statusJson(b.primary.child.pid).bus.broker.subscriptions === count;
  const heard = [];
  for (let round = 0; round < 3; round += 1) {
    const listener = await member(b.urls[0], "teal");
    assert.ok(await eventually(() => listener.heard.length >= 10, 5000), `round ${round}: the other fleet hears`);
    listener.close();
    assert.ok(await eventually(subscriptions(0), 5000), `round ${round}: its broker unsubscribed`);
    heard.push(listener.heard.length);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  clearInterval(traffic);
  const receiver = statusJson(b.primary.child.pid).bus.broker;
  assert.equal(receiver.lost, 0, `heard ${heard} in 3 subscriptions, sent ${sent}: ${JSON.stringify(receiver)}`);
  publisher.close();
});

test("--broker: Redis killed and restarted under traffic; workers keep serving, delivery resumes", async (t) => {
  const redis = await startRedis(t);
  const metricsPort = await freePortRange(1);
  const [a, b] = await Promise.all([
    chatFleet(t, { workers: 2, host: "127.0.0.2", broker: redis.url, extra: ["--metrics", String(metricsPort)] }),
    chatFleet(t, { workers: 1, host: "127.0.0.3", broker: redis.url }),
  ]);
  const publisher = await member(a.urls[0], "red");
  const sameFleet = await member(a.urls[1], "red");
  const otherFleet = await member(b.urls[0], "red");
  let sent = 0;
  const traffic = setInterval(() => publisher.send(`m${sent++}`), 10);
  t.after(() => clearInterval(traffic));
  const heardAfter = (ws, n) => () => ws.heard.some((line) => Number(line.slice(3)) >= n);
  assert.ok(await eventually(heardAfter(otherFleet, 20)), "the other fleet hears through Redis");
  await redis.stop();
  const whileAway = sent;
  // Local delivery goes on: the other worker of the same fleet still hears, through the embedded bus.
  assert.ok(await eventually(heardAfter(sameFleet, whileAway + 20)), "the same fleet hears while Redis is away");
  assert.ok([...a.pids, ...b.pids].every(isAlive), "no worker went down with Redis");
  await redis.start();
  const back = sent;
  assert.ok(await eventually(heardAfter(otherFleet, back), 5000), "delivery across fleets resumes");
  clearInterval(traffic);
  assert.ok(await eventually(heardAfter(otherFleet, sent - 1), 5000), "the last message reaches the other fleet");
  // The counts are the workers' (each is on Redis itself), which reach the primary once a second.
  let broker;
  await eventually(() => {
    broker = statusJson(a.primary.child.pid).bus.broker;
    return broker.reconnects >= 1 && broker.dropped > 0 && broker.errors > 0;
  }, 5000);
  assert.equal(broker.state, "connected");
  assert.ok(broker.reconnects >= 1 && broker.dropped > 0 && broker.errors > 0, JSON.stringify(broker));
  // What the other fleet missed while Redis was away, it counted: gaps in the publishing fleet's numbering (from the
  // first message it heard: its subscription may have come after the first few).
  const numbers = otherFleet.heard.map((line) => Number(line.slice(3)));
  const missed = numbers.at(-1) - numbers[0] + 1 - numbers.length;
  let receiver;
  await eventually(() => {
    receiver = statusJson(b.primary.child.pid).bus.broker;
    return receiver.lost >= missed;
  }, 5000);
  t.diagnostic(
    `the other fleet missed ${missed} while Redis was away; counted ${receiver.lost}; publisher ${broker.dropped} dropped`,
  );
  assert.ok(missed > 0, `the other fleet missed some: ${missed}`);
  assert.equal(receiver.lost, missed, JSON.stringify(receiver));
  // The workers' counters reach the primary once a second: wait for the publisher's to show.
  let metrics = "";
  const publishedShown = /^wsfleet_publish_published_total\{worker="websockets-test_00",port="\d+"\} [1-9]\d*$/m;
  await eventually(async () => {
    metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return publishedShown.test(metrics);
  }, 5000);
  assert.match(metrics, publishedShown);
  assert.match(metrics, /^wsfleet_broker_up 1$/m);
  assert.match(metrics, /^wsfleet_broker_reconnects_total [1-9]\d*$/m);
  assert.match(metrics, /^wsfleet_broker_dropped_total [1-9]\d*$/m);
  assert.match(metrics, /^wsfleet_bus_workers_connected 2$/m);
  // At most once: nothing the other fleet heard came twice.
  assert.equal(new Set(otherFleet.heard).size, otherFleet.heard.length);
  for (const ws of [publisher, sameFleet, otherFleet]) ws.close();
});

test("--broker unreachable at start: exit 2 naming --broker, before any worker starts", async () => {
  const port = await freePortRange(2);
  const result = await runPrimary([
    "--workers",
    "1",
    "--base-port",
    String(port),
    "--broker",
    `redis://127.0.0.1:${port + 1}`,
  ]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    /WSFLEET_BROKER_UNREACHABLE: cannot reach --broker redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/,
  );
  assert.doesNotMatch(result.stderr, /spawned/);
});

test("--exec with --broker is refused with exit 2; so is a URL that is not Redis", async () => {
  const exec = await runPrimary(["--workers", "1", "--exec", "sleep 5", "--broker", "redis://127.0.0.1:6379"]);
  assert.equal(exec.code, 2);
  assert.match(exec.stderr, /--broker.*without --exec/);
  const http = await runPrimary(["--workers", "1", "--broker", "http://127.0.0.1:6379"]);
  assert.equal(http.code, 2);
  assert.match(http.stderr, /invalid value for --broker: "http:\/\/127\.0\.0\.1:6379"; expected a Redis URL/);
});

test("a slow subscriber is closed at the backpressure limit and does not stall the others", async (t) => {
  const { urls } = await chatFleet(t, { workers: 2, extra: ["--max-backpressure", "1MiB"] });
  const port = Number(new URL(urls[1]).port);
  const slow = await rawConnect(port, "127.0.0.1", "/chat?room=red");
  slow.socket.pause();
  const fast = [await member(urls[0], "red"), await member(urls[1], "red")];
  const publisher = await member(urls[0], "red");
  // 16 MiB in all: more than the kernel's socket buffers can hide, so the slow reader's backlog passes the limit.
  const count = 2000;
  const payload = "x".repeat(8 * 1024);
  // In steps the readers that do read can follow; the slow one's backlog only grows.
  for (let n = 0; n < count; n += 1) {
    publisher.send(`${n} ${payload}`);
    if (n % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(await eventually(() => fast.every((ws) => ws.heard.length === count), 10_000), "the others heard all");
  slow.socket.resume();
  const slowClosed = await within(once(slow.socket, "close"), 5000, "open");
  assert.notEqual(slowClosed, "open", "the slow reader was closed");
  for (const ws of [...fast, publisher]) ws.close();
});
