/** Broadcast: two wsfleet fleets of one worker each, on 127.0.0.2 and 127.0.0.3, sharing one Redis (--broker). */
import { startFleet, startRedis, WS_PATHS } from "./broadcast-common.js";

/**
 * `history`: --history <n> (issue 21): Redis sequences every publish (one Lua call), the fleets get it back.
 * `primary`: another build's dist/primary.js (--baseline), measured beside this one.
 */
export function broadcastWsfleetRedisTarget({ history, primary } = {}) {
  return {
    id: `wsfleet-redis${history ? "-history" : ""}${primary ? "-baseline" : ""}`,
    label: `wsfleet ×1 on two hosts + Redis${history ? `, --history ${history}` : ""}${primary ? `, baseline ${primary}` : ""}`,
    topology: { processes: 2, joinedBy: "redis" },
    protocol: "ws",
    paths: WS_PATHS,
    async start(ctx) {
      const redis = await startRedis(ctx);
      const a = await startFleet(ctx, {
        name: "wsfleet-a",
        host: "127.0.0.2",
        workers: 1,
        broker: redis.url,
        history,
        primary,
      });
      const b = await startFleet(ctx, {
        name: "wsfleet-b",
        host: "127.0.0.3",
        workers: 1,
        broker: redis.url,
        history,
        primary,
      });
      return {
        subscribers: [...a.endpoints, ...b.endpoints],
        publisher: a.endpoints[0],
        collect: () => [...a.pids(), ...b.pids(), { pid: redis.pid, role: "redis" }],
      };
    },
  };
}
