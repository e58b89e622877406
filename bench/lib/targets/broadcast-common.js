/**
 * What the broadcast targets share: a real redis-server (or a Redis Cluster), TCP readiness on any loopback address,
 * wsfleet fleets.
 */
import { spawnSync } from "node:child_process";
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

/**
 * A Redis Cluster of `masters` primaries (no replicas) on free ports of 127.0.0.1, persistence off, made with
 * `redis-cli --cluster create`; its nodes are children of `ctx`, stopped with the rest. Resolves with its
 * `redis+cluster://` URL and the nodes' pids.
 */
export async function startRedisCluster(ctx, masters = 3) {
  // Data ports, then each node's cluster bus port (Redis' default, port + 10000, could be taken).
  const base = await freePortRange(2 * masters);
  const ports = Array.from({ length: masters }, (_, i) => base + i);
  const pids = ports.map((port, i) => {
    const args = ["--port", String(port), "--cluster-port", String(base + masters + i), "--bind", "127.0.0.1"];
    args.push("--cluster-enabled", "yes", "--cluster-config-file", `${ctx.dir}/nodes-${port}.conf`);
    args.push("--dir", ctx.dir, "--save", "", "--appendonly", "no");
    return spawnLogged(ctx, `redis-${port}`, "redis-server", args).pid;
  });
  await waitForTcp(ports.map((port) => ({ host: "127.0.0.1", port })));
  const cli = (port, ...args) => spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" });
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  const create = cli(ports[0], "--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes");
  if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}${create.stderr}`);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!ports.every((port) => /cluster_state:ok/.test(cli(port, "cluster", "info").stdout))) {
    if (Date.now() > deadline) throw new Error("the cluster did not reach cluster_state:ok");
    await sleep(100);
  }
  return { url: `redis+cluster://${nodes.join(",")}`, pids };
}

/**
 * Node's own options for the fleets' primaries (their workers inherit them: fork passes execArgv), for profiling:
 * `BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/broadcast.js …` (NODE_OPTIONS refuses --cpu-prof).
 */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);

/** A wsfleet fleet of the broadcast app; its workers' ports are the subscribers' endpoints. */
export async function startFleet(ctx, { name, host, workers, broker, history, primary: primaryPath = PRIMARY }) {
  const basePort = await freePortRange(workers);
  const args = ["--workers", String(workers), "--base-port", String(basePort), "--host", host, "--start-secs", "0"];
  const primary = spawnLogged(ctx, name, process.execPath, [
    ...NODE_ARGS,
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
