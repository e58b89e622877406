/** What the broadcast targets share: a real redis-server, TCP readiness on any loopback address, wsfleet fleets. */
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { PRIMARY, SERVERS_DIR } from "./paths.js";

const READY_TIMEOUT_MS = 30_000;

function accepts(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Waits until each host:port accepts a TCP connection. */
export async function waitForTcp(endpoints) {
  for (const { host, port } of endpoints) {
    let ok = false;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!ok && Date.now() < deadline) {
      ok = await accepts(host, port);
      if (!ok) await sleep(100);
    }
    if (!ok) throw new Error(`${host}:${port} did not accept within ${READY_TIMEOUT_MS} ms`);
  }
}

/** redis-server on a free port, persistence off; resolves with its URL and pid. */
export async function startRedis(ctx) {
  const port = await freePortRange(1);
  const child = spawnLogged(ctx, "redis", "redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ]);
  await waitForTcp([{ host: "127.0.0.1", port }]);
  return { url: `redis://127.0.0.1:${port}`, pid: child.pid };
}

/** A wsfleet fleet of the broadcast app; its workers' ports are the subscribers' endpoints. */
export async function startFleet(ctx, { name, host, workers, broker, history, primary: primaryPath = PRIMARY }) {
  const basePort = await freePortRange(workers);
  const args = ["--workers", String(workers), "--base-port", String(basePort), "--host", host, "--start-secs", "0"];
  const primary = spawnLogged(ctx, name, process.execPath, [
    primaryPath,
    ...args,
    "--app",
    `${SERVERS_DIR}broadcast-app.js`,
    ...(broker ? ["--broker", broker] : []),
    ...(history ? ["--history", String(history)] : []),
  ]);
  const endpoints = Array.from({ length: workers }, (_, i) => ({ host, port: basePort + i }));
  await waitForTcp(endpoints);
  return { endpoints, primaryPid: primary.pid, pids: () => rolesOf(primary.pid, /guard\.js/) };
}

export const WS_PATHS = { subscribe: "/?room=bench", publish: "/?publishTo=bench" };
export const SOCKETIO_PATHS = {
  subscribe: "/socket.io/?EIO=4&transport=websocket&room=bench",
  publish: "/socket.io/?EIO=4&transport=websocket&publishTo=bench",
};
