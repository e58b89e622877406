import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eventually } from "./fleet.js";
import { freePortRange } from "./ports.js";
import { accepts } from "./redis.js";

function cli(port, ...args) {
  return spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args], { encoding: "utf8" });
}

/**
 * A real Redis Cluster on free ports of 127.0.0.1: `masters` primaries, each with `replicas` replicas, made with
 * `redis-cli --cluster create`, persistence off, in a temporary directory; every node is SIGKILLed when the test
 * ends. `kill(port)` SIGKILLs one node (a shard's primary going away); its replica takes over after the node timeout.
 */
export async function startRedisCluster(t, { masters = 3, replicas = 0 } = {}) {
  const count = masters * (1 + replicas);
  // Data ports, then each node's cluster bus port (Redis' default, port + 10000, could be taken).
  const base = await freePortRange(2 * count);
  const ports = Array.from({ length: count }, (_, i) => base + i);
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-cluster-"));
  const nodes = new Map();
  const live = (port) => nodes.get(port)?.exitCode === null && nodes.get(port)?.signalCode === null;
  const kill = async (port) => {
    const child = nodes.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  };
  t.after(async () => {
    await Promise.all(ports.map(kill));
    rmSync(dir, { recursive: true, force: true });
  });
  for (const [i, port] of ports.entries()) {
    const args = ["--port", String(port), "--cluster-port", String(base + count + i), "--bind", "127.0.0.1"];
    args.push("--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`, "--dir", dir);
    args.push("--cluster-node-timeout", "1000", "--save", "", "--appendonly", "no");
    // A replica that never synced may not take over; Redis 7 waits 5 s by default before a diskless sync.
    args.push("--repl-diskless-sync-delay", "0");
    nodes.set(port, spawn("redis-server", args, { stdio: "ignore" }));
  }
  for (const port of ports) {
    if (!(await eventually(() => accepts(port), 5000))) throw new Error(`redis-server did not listen on ${port}`);
  }
  const create = cli(
    ports[0],
    "--cluster",
    "create",
    ...ports.map((port) => `127.0.0.1:${port}`),
    "--cluster-replicas",
    String(replicas),
    "--cluster-yes",
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create: ${create.stdout}${create.stderr}`);
  const ok = () => ports.every((port) => /cluster_state:ok/.test(cli(port, "cluster", "info").stdout));
  if (!(await eventually(ok, 10_000))) throw new Error("the cluster did not reach cluster_state:ok");
  const synced = () =>
    ports.every((port) => {
      const replication = cli(port, "info", "replication").stdout;
      return /role:master/.test(replication) || /master_link_status:up/.test(replication);
    });
  if (!(await eventually(synced, 10_000))) throw new Error("the replicas did not sync");
  return {
    ports,
    url: `redis+cluster://${ports
      .slice(0, 2)
      .map((port) => `127.0.0.1:${port}`)
      .join(",")}`,
    kill,
    /** The port of the primary serving `slot` now, from CLUSTER SLOTS as `port` (a live node) sees it. */
    primaryOf: (slot, port = ports.find(live)) => {
      const slots = cli(port, "--json", "cluster", "slots").stdout;
      for (const [from, to, primary] of JSON.parse(slots)) if (slot >= from && slot <= to) return primary[1];
      return undefined;
    },
    /** CLUSTER KEYSLOT of a channel or key. */
    slotOf: (name) => Number(cli(ports[0], "cluster", "keyslot", name).stdout.trim()),
    /** Waits until no live node names `port` a primary of any slot and every live one says cluster_state:ok. */
    failedOver: (port) =>
      eventually(
        () =>
          ports
            .filter(live)
            .every(
              (p) =>
                /cluster_state:ok/.test(cli(p, "cluster", "info").stdout) &&
                !JSON.parse(cli(p, "--json", "cluster", "slots").stdout).some(([, , primary]) => primary[1] === port),
            ),
        20_000,
      ),
  };
}
