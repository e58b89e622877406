import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket from "ws";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

test("drain: /healthz and new handshakes get 503 during --drain-timeout, then open connections close with 1012", async (t) => {
  const port = await freePortRange(1);
  const primary = startPrimary(t, [
    "--workers",
    "1",
    "--base-port",
    String(port),
    "--start-secs",
    "0",
    "--drain-timeout",
    "2",
  ]);
  await primary.waitForRunning(1);
  const ws = await connect(`ws://localhost:${port}/`);
  const close = closed(ws);
  let closedAt = 0;
  close.then(() => {
    closedAt = Date.now();
  });
  const from = primary.events.length;
  const hupAt = Date.now();
  primary.child.kill("SIGHUP");
  const draining = await eventually(
    async () => (await fetch(`http://localhost:${port}/healthz`)).status === 503,
    1500,
    20,
  );
  assert.ok(draining, "/healthz answers 503 once the drain starts");
  const refused = new WebSocket(`ws://localhost:${port}/`);
  const [, response] = await once(refused, "unexpected-response");
  assert.equal(response.statusCode, 503);
  assert.equal(closedAt, 0, "open connections stay open during the drain timeout");
  // The open connection still works while draining.
  assert.equal((await roundTrip(ws, "still draining", false)).data.toString(), "still draining");
  assert.deepEqual(await close, { code: 1012, reason: "service restart" });
  t.diagnostic(`closed with 1012 after ${closedAt - hupAt} ms (drain-timeout 2 s)`);
  await primary.waitForRunning(1, from);
  const fresh = await connect(`ws://localhost:${port}/`);
  assert.equal((await roundTrip(fresh, "replaced", false)).data.toString(), "replaced");
  fresh.close();
});

test("drain longer than --stop-timeout: the worker is killed with SIGKILL and the primary still exits 0", async (t) => {
  const port = await freePortRange(1);
  const primary = startPrimary(t, [
    ...["--workers", "1", "--base-port", String(port), "--start-secs", "0"],
    ...["--drain-timeout", "30", "--stop-timeout", "0.5"],
  ]);
  await primary.waitForRunning(1);
  const ws = await connect(`ws://localhost:${port}/`);
  const close = closed(ws);
  primary.child.kill("SIGTERM");
  const killed = await primary.waitForEvent((event) => event.event === "killed");
  assert.match(killed.message, /with SIGKILL: still running after 500 ms/);
  const stopped = await primary.waitForEvent((event) => event.event === "stopped");
  assert.equal(stopped.signal, "SIGKILL");
  assert.equal((await close).code, 1006, "killed mid-drain: the client sees the connection drop");
  assert.equal((await primary.exited).code, 0);
});
