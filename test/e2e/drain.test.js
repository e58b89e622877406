import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import WebSocket from "ws";
import { closed, connect, roundTrip } from "../helpers/clients.js";
import { eventually, sleep, startOneWorker, TIMEOUT_FACTOR } from "../helpers/fleet.js";
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
  assert.ok(closedAt - hupAt >= 2000, "open connections stay open for the whole drain timeout");
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

const IDLE_TIMEOUT_MS = 8000;

/** A raw client's end: a close frame or a dropped connection, not the timeout of closeResult(). */
function assertClosed(result, what) {
  assert.ok(result.code !== undefined || result.dropped, `${what}: ${JSON.stringify(result)}`);
}

/** `actualMs` is about `expectedMs`: a second either way (the late side scaled for a slow machine). */
function assertAbout(actualMs, expectedMs, what) {
  const window = [expectedMs - 1000, expectedMs + 1000 * TIMEOUT_FACTOR];
  assert.ok(actualMs >= window[0] && actualMs <= window[1], `${what}: ${actualMs} ms, expected ${window.join("-")}`);
}

test("--idle-timeout: a silent client that never answers pings gets a ping at half the timeout, then is closed at the full timeout", async (t) => {
  const { port } = await startOneWorker(t, ["--idle-timeout", String(IDLE_TIMEOUT_MS / 1000)]);
  // uWebSockets.js counts timeouts in 4 s ticks, so a first ping may come up to 4 s early; a connection opened just
  // after a tick (seen as another silent client's ping) runs its timeouts their full length.
  const probe = await rawConnect(port);
  assert.equal((await probe.nextFrame(0, IDLE_TIMEOUT_MS))?.opcode, OP.PING, "the probe's ping");
  const tickMs = Date.now();
  const client = await rawConnect(port);
  const ping = await client.nextFrame(0, IDLE_TIMEOUT_MS);
  const pingAfterMs = Date.now() - tickMs;
  assert.equal(ping?.opcode, OP.PING);
  // No pong: the worker gives up at the full idle timeout.
  const result = await client.closeResult(IDLE_TIMEOUT_MS);
  const closedAfterMs = Date.now() - tickMs;
  t.diagnostic(`ping after ${pingAfterMs} ms, closed after ${closedAfterMs} ms (${JSON.stringify(result)})`);
  assertClosed(result, "closed");
  assertAbout(pingAfterMs, IDLE_TIMEOUT_MS / 2, "ping at half the idle timeout");
  assertAbout(closedAfterMs, IDLE_TIMEOUT_MS, "closed at the full idle timeout");
  probe.destroy();
  client.destroy();
});

test("--idle-timeout: a client that answers pings (ws does) stays connected past the timeout, one that does not is closed", async (t) => {
  const { port } = await startOneWorker(t, ["--idle-timeout", String(IDLE_TIMEOUT_MS / 1000)]);
  const [answering, silent] = await Promise.all([connect(`ws://127.0.0.1:${port}/`), rawConnect(port)]);
  const connectedMs = Date.now();
  let pings = 0;
  answering.on("ping", () => {
    pings += 1;
  });
  let closeCode;
  answering.once("close", (code) => {
    closeCode = code;
  });
  assertClosed(await silent.closeResult(IDLE_TIMEOUT_MS), "the client that does not answer is closed");
  // Staying idle past the full timeout is what is tested, so this is a sleep, not a wait for a condition.
  await sleep(Math.max(0, connectedMs + IDLE_TIMEOUT_MS + 1000 - Date.now()));
  assert.equal(closeCode, undefined, "the answering client was closed");
  assert.equal(answering.readyState, WebSocket.OPEN);
  assert.ok(pings >= 2, `pings answered: ${pings}`);
  assert.equal((await roundTrip(answering, "still here", false)).data.toString(), "still here");
  answering.close();
  silent.destroy();
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
