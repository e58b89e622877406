/** Broadcast: two wsfleet fleets of one worker each, on 127.0.0.2 and 127.0.0.3, sharing one Redis (--broker). */
import { startFleet, startRedis, WS_PATHS } from "./broadcast-common.js";

/** `history`: --history <n> (issue 21): Redis sequences every publish (one Lua call), the fleets get it back. */
export function broadcastWsfleetRedisTarget({ history } = {}) {
  return {
    id: history ? "wsfleet-redis-history" : "wsfleet-redis",
    label: `wsfleet ×1 on two hosts + Redis${history ? `, --history ${history}` : ""}`,
    topology: { processes: 2, joinedBy: "redis" },
    protocol: "ws",
    paths: WS_PATHS,
    async start(ctx) {
      const redis = await startRedis(ctx);
      const a = await startFleet(ctx, { name: "wsfleet-a", host: "127.0.0.2", workers: 1, broker: redis.url, history });
      const b = await startFleet(ctx, { name: "wsfleet-b", host: "127.0.0.3", workers: 1, broker: redis.url, history });
      return {
        subscribers: [...a.endpoints, ...b.endpoints],
        publisher: a.endpoints[0],
        collect: () => [...a.pids(), ...b.pids(), { pid: redis.pid, role: "redis" }],
      };
    },
  };
}
