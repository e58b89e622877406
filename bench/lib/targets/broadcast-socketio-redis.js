/** Broadcast: two socket.io servers on 127.0.0.2 and 127.0.0.3 with @socket.io/redis-adapter on one Redis. */
import { freePortRange } from "../ports.js";
import { SOCKETIO_PATHS, startRedis, waitForTcp } from "./broadcast-common.js";
import { spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";

export function broadcastSocketioRedisTarget() {
  return {
    id: "socketio-redis",
    label: "socket.io ×1 on two hosts + Redis adapter",
    topology: { processes: 2, joinedBy: "redis" },
    protocol: "socket.io",
    paths: SOCKETIO_PATHS,
    async start(ctx) {
      const redis = await startRedis(ctx);
      const port = await freePortRange(1);
      const servers = ["127.0.0.2", "127.0.0.3"].map((host, i) =>
        spawnLogged(ctx, `socketio-${i}`, process.execPath, [`${SERVERS_DIR}socketio-broadcast.js`], {
          ADAPTER: "redis",
          HOST: host,
          PORT: String(port),
          REDIS_URL: redis.url,
        }),
      );
      const endpoints = ["127.0.0.2", "127.0.0.3"].map((host) => ({ host, port }));
      await waitForTcp(endpoints);
      return {
        subscribers: endpoints,
        publisher: endpoints[0],
        collect: () => [...servers.map((s) => ({ pid: s.pid, role: "worker" })), { pid: redis.pid, role: "redis" }],
      };
    },
  };
}
