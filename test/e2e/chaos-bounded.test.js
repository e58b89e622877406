// The chaos suite (test/chaos, `npm run test:chaos`) in small: the same scenarios with fewer clients, kills and
// frames, so `npm test` keeps them honest in about a minute. Figures are recorded only by test:chaos.
import assert from "node:assert/strict";
import { test } from "node:test";
import WebSocket from "ws";
import { badOptions } from "../chaos/lib/environment.js";
import { connectionFlood } from "../chaos/lib/flood.js";
import { fuzzFrames } from "../chaos/lib/hostile.js";
import { crashLoop, primarySigkill } from "../chaos/lib/processes.js";
import { haproxyKilled, rollingRestartUnderLoad, workerCrashes } from "../chaos/lib/under-load.js";
import { eventually, startOneWorker } from "../helpers/fleet.js";

test("bounded: kill -9 of a random worker every 1.5 s for 4.5 s under 40 clients through HAProxy", (t) =>
  workerCrashes(t, "worker-crashes", { workers: 2, clients: 40, everyMs: 1500, forMs: 4500 }));

test("bounded: rolling restart under 200 reconnecting clients through HAProxy: 0 failed, 0 wrong, 0 abnormal", (t) =>
  rollingRestartUnderLoad(t, "rolling-restart", { workers: 2, clients: 200 }));

test("bounded: HAProxy killed once under 50 clients", (t) =>
  haproxyKilled(t, "haproxy-killed", { workers: 2, clients: 50, kills: 1 }));

test("bounded: primary SIGKILLed once in start-up and once in a rolling restart, per kind of fleet", (t) =>
  primarySigkill(t, "primary-sigkill", { rounds: 1, seed: Date.now() % 1000 }));

test("bounded: crash loop with one retry", (t) => crashLoop(t, "crash-loop", { workers: 2, startRetries: 1 }));

test("bounded: a 3 s connection flood from one address beside 10 normal clients from another", (t) =>
  connectionFlood(t, "connection-flood", { flooders: 10, normalClients: 10, durationMs: 3000 }));

test("bounded: 1,000 fuzzed frames", (t) => fuzzFrames(t, "fuzzer", { total: 1000, perConnection: 20 }));

test("bounded: wrong values of the drain options exit 2 naming them", () =>
  badOptions("bad-options", { only: ["drainTimeout", "drainSpread", "stopTimeout"] }));

/** When each of `count` clients of one worker saw its 1012, in ms after the first. */
async function closeTimes(t, spread) {
  const { port, primary } = await startOneWorker(t, ["--drain-timeout", "0", "--drain-spread", String(spread)]);
  const clients = [];
  for (let index = 0; index < 100; index += 1) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.on("error", () => {});
    clients.push(ws);
  }
  assert.ok(await eventually(() => clients.every((ws) => ws.readyState === WebSocket.OPEN), 10_000));
  const closes = clients.map(
    (ws) => new Promise((resolve) => ws.once("close", (code) => resolve({ code, at: performance.now() }))),
  );
  primary.child.kill("SIGHUP");
  const seen = await Promise.all(closes);
  assert.ok(
    seen.every((each) => each.code === 1012),
    "every client got 1012",
  );
  const first = Math.min(...seen.map((each) => each.at));
  return seen.map((each) => each.at - first);
}

test("--drain-spread 1: 100 connections are closed over the whole second, evenly; --drain-spread 0: all at once", async (t) => {
  const spread = await closeTimes(t, 1);
  // Ten 100 ms slots of the window: an even spread puts about 10 closes in each; all at once puts them in one.
  const slots = new Set(spread.map((ms) => Math.min(9, Math.floor(ms / 100))));
  assert.ok(slots.size >= 8, `closes fell in ${slots.size} of 10 slots: ${spread.map(Math.round)}`);
  const atOnce = await closeTimes(t, 0);
  assert.ok(Math.max(...atOnce) < Math.max(...spread) / 2, `all at once: ${atOnce.map(Math.round)}`);
});
