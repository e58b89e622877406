import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket from "ws";
import { eventually, runPrimary, startPrimary } from "../helpers/fleet.js";
import { freePortRange, holdPort } from "../helpers/ports.js";

/** Per-worker values of one metric from the primary's /metrics. */
async function perWorker(metricsPort, name) {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const values = {};
  for (const match of text.matchAll(new RegExp(`^${name}\\{worker="([^"]+)",port="\\d+"\\} (\\d+)$`, "gm"))) {
    values[match[1]] = Number(match[2]);
  }
  return values;
}

test("--shared-port: all workers on one port with SO_REUSEPORT, and 200 connections land on every worker", async (t) => {
  const port = await freePortRange(2);
  const metricsPort = port + 1;
  const workers = 3;
  const primary = startPrimary(t, [
    ...["--workers", String(workers), "--shared-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--metrics", String(metricsPort)],
  ]);
  const running = await primary.waitForRunning(workers);
  assert.equal(running.size, workers);
  const clients = [];
  for (let index = 0; index < 200; index += 1) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    clients.push(ws);
    await once(ws, "open");
  }
  let counts = {};
  const allCounted = await eventually(async () => {
    counts = await perWorker(metricsPort, "wsfleet_connections_open");
    return Object.values(counts).reduce((sum, count) => sum + count, 0) === 200;
  }, 5000);
  assert.ok(allCounted, JSON.stringify(counts));
  t.diagnostic(`connections per worker: ${JSON.stringify(counts)}`);
  assert.equal(Object.keys(counts).length, workers);
  for (const [worker, count] of Object.entries(counts)) assert.ok(count > 0, `${worker} got none`);
  for (const ws of clients) ws.close();
});

test("--shared-port: a port in use is reported once, naming --shared-port", async (t) => {
  const port = await freePortRange(1);
  await holdPort(t, port);
  const { code, stderr } = await runPrimary(["--workers", "2", "--shared-port", String(port)]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    new RegExp(`port ${port} on localhost is already in use by pid ${process.pid}.*another --shared-port`),
  );
});
