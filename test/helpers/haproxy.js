import assert from "node:assert/strict";
import { RuntimeClient } from "../../dist/haproxy/runtime.js";
import { eventually, startPrimary } from "./fleet.js";
import { freePortRange } from "./ports.js";

/**
 * `wsfleet --haproxy` on free ports: workers on base..base+n-1, the frontend on base+n (stats on base+n+1 if asked).
 * Resolves once HAProxy runs and sees every worker UP.
 */
export async function startHaproxyFleet(t, workers, extra = [], { stats = false, host = "127.0.0.1" } = {}) {
  const base = await freePortRange(workers + 2);
  const frontendPort = base + workers;
  const statsPort = base + workers + 1;
  const primary = startPrimary(t, [
    "--workers",
    String(workers),
    "--base-port",
    String(base),
    "--host",
    host,
    "--haproxy",
    "--frontend-host",
    host,
    "--frontend-port",
    String(frontendPort),
    ...(stats ? ["--haproxy-stats", `${host}:${statsPort}`] : []),
    ...extra,
  ]);
  const started = await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  const runtime = new RuntimeClient(started.socket);
  assert.ok(await allUp(runtime, workers), "HAProxy sees every worker UP");
  return { base, frontendPort, statsPort, primary, runtime, started, url: `ws://${host}:${frontendPort}/` };
}

/** Waits until HAProxy's runtime API reports `count` servers UP and ready. */
export function allUp(runtime, count, timeoutMs = 10_000) {
  return eventually(async () => {
    const states = await runtime.serverStates("websocket").catch(() => []);
    return states.filter((state) => state.operational === "UP" && state.admin === "ready").length === count;
  }, timeoutMs);
}

/** Polls one server's operational state until it is `wanted`; resolves with the ms it took, or undefined. */
export async function msUntilState(runtime, server, wanted, fromMs, timeoutMs = 10_000) {
  const held = await eventually(
    async () => (await runtime.serverState("websocket", server).catch(() => undefined))?.operational === wanted,
    timeoutMs,
    20,
  );
  return held ? Date.now() - fromMs : undefined;
}
