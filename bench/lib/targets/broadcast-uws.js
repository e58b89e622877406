/**
 * Broadcast anchors: bare uWebSockets.js processes, no wsfleet. One process publishing locally is the floor for one
 * core; N processes joined by a Redis channel (each publishes locally and to Redis) the floor for N processes.
 */
import { freePortRange } from "../ports.js";
import { startRedis, WS_PATHS, waitForTcp } from "./broadcast-common.js";
import { spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";

export function broadcastUwsTarget(processes, { hosts } = {}) {
  const bridged = processes > 1;
  const onHosts = hosts ? `, on ${hosts.join(" and ")}` : "";
  return {
    id: (bridged ? `uws-x${processes}-redis` : "uws-x1") + (hosts ? "-hosts" : ""),
    label: bridged
      ? `bare uWS ×${processes} + Redis bridge (floor for ${processes} processes)${onHosts}`
      : `bare uWS ×1 (floor for one process)${onHosts}`,
    topology: { processes, joinedBy: bridged ? "redis" : "none" },
    protocol: "ws",
    paths: WS_PATHS,
    async start(ctx) {
      const redis = bridged ? await startRedis(ctx) : null;
      const basePort = await freePortRange(processes);
      const endpoints = Array.from({ length: processes }, (_, i) => ({
        host: hosts?.[i % hosts.length] ?? "127.0.0.1",
        port: basePort + i,
      }));
      const servers = endpoints.map(({ host, port }, i) =>
        spawnLogged(ctx, `uws-${i}`, process.execPath, [`${SERVERS_DIR}uws-broadcast.js`], {
          HOST: host,
          PORT: String(port),
          ...(redis ? { REDIS_URL: redis.url } : {}),
        }),
      );
      await waitForTcp(endpoints);
      return {
        subscribers: endpoints,
        publisher: endpoints[0],
        collect: () => [
          ...servers.map((s) => ({ pid: s.pid, role: "worker" })),
          ...(redis ? [{ pid: redis.pid, role: "redis" }] : []),
        ],
      };
    },
  };
}
