import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket from "ws";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, startOneWorker } from "../helpers/fleet.js";
import { OP, rawConnect } from "../helpers/raw-ws.js";

test("drain: /healthz and new handshakes get 503 during --drain-timeout, then open connections close with 1012", async (t) => {
  const { port, primary } = await startOneWorker(t, ["--drain-timeout", "2"]);
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  const close = closed(ws);
  let closedAt = 0;
  close.then(() => {
    closedAt = Date.now();
  });
  const from = primary.events.length;
  const hupAt = Date.now();
  primary.child.kill("SIGHUP");
  const draining = await eventually(
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 503,
    1500,
    20,
  );
  assert.ok(draining, "/healthz answers 503 once the drain starts");
  const refused = new WebSocket(`ws://127.0.0.1:${port}/`);
  const [, response] = await once(refused, "unexpected-response");
  assert.equal(response.statusCode, 503);
  assert.equal(closedAt, 0, "open connections stay open during the drain timeout");
  // The open connection still works while draining.
  assert.equal((await roundTrip(ws, "still draining", false)).data.toString(), "still draining");
  assert.deepEqual(await close, { code: 1012, reason: "service restart" });
  t.diagnostic(`closed with 1012 after ${closedAt - hupAt} ms (drain-timeout 2 s)`);
  await primary.waitForRunning(1, from);
  const fresh = await connect(`ws://127.0.0.1:${port}/`);
  assert.equal((await roundTrip(fresh, "replaced", false)).data.toString(), "replaced");
  fresh.close();
});

test("drain longer than --stop-timeout: the worker is killed with SIGKILL and the primary still exits 0", async (t) => {
  const { port, primary } = await startOneWorker(t, ["--drain-timeout", "30", "--stop-timeout", "0.5"]);
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  const close = closed(ws);
  primary.child.kill("SIGTERM");
  const killed = await primary.waitForEvent((event) => event.event === "killed");
  assert.match(killed.message, /with SIGKILL: still running after 500 ms/);
  const stopped = await primary.waitForEvent((event) => event.event === "stopped");
  assert.equal(stopped.signal, "SIGKILL");
  assert.equal((await close).code, 1006, "killed mid-drain: the client sees the connection drop");
  assert.equal((await primary.exited).code, 0);
});

test("--idle-timeout: a silent client that never answers pings gets a ping at half the timeout, then is closed", async (t) => {
  const { port } = await startOneWorker(t, ["--idle-timeout", "8"]);
  const started = Date.now();
  const client = await rawConnect(port);
  const ping = await client.nextFrame(0, 10_000);
  const pingAfterMs = Date.now() - started;
  assert.equal(ping?.opcode, OP.PING);
  // No pong: the worker gives up at the full idle timeout.
  const result = await client.closeResult(15_000);
  const closedAfterMs = Date.now() - started;
  assert.ok(result.code !== undefined || result.dropped, "closed");
  t.diagnostic(`ping after ${pingAfterMs} ms, closed after ${closedAfterMs} ms (${JSON.stringify(result)})`);
  assert.ok(closedAfterMs > pingAfterMs);
});

test("--idle-timeout: a client that answers pings (ws does) stays connected past the timeout", async (t) => {
  const { port } = await startOneWorker(t, ["--idle-timeout", "8"]);
  const ws = await connect(`ws://127.0.0.1:${port}/`);
  let pings = 0;
  ws.on("ping", () => {
    pings += 1;
  });
  await new Promise((resolve) => setTimeout(resolve, 10_000));
  assert.equal(ws.readyState, WebSocket.OPEN);
  assert.ok(pings >= 1, `pings seen: ${pings}`);
  assert.equal((await roundTrip(ws, "still here", false)).data.toString(), "still here");
  ws.close();
});

test("--compression shared: permessage-deflate is negotiated and messages still echo", async (t) => {
  const { port } = await startOneWorker(t, ["--compression", "shared"]);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
  await once(ws, "open");
  assert.match(ws.extensions, /permessage-deflate/);
  const text = "compress me ".repeat(500);
  assert.equal((await roundTrip(ws, text, false)).data.toString(), text);
  ws.close();
  const plain = new WebSocket(`ws://127.0.0.1:${(await startOneWorker(t)).port}/`, { perMessageDeflate: true });
  await once(plain, "open");
  assert.equal(plain.extensions, "", "compression off by default");
  plain.close();
});
