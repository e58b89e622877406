/** Broadcast: socket.io with @socket.io/cluster-adapter, 2 node cluster workers on one port (one machine). */
import { freePortRange } from "../ports.js";
import { SOCKETIO_PATHS, waitForTcp } from "./broadcast-common.js";
import { rolesOf, spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";
import { waitForLogText } from "./ready.js";

export function broadcastSocketioClusterTarget() {
  return {
    id: "socketio-cluster",
    label: "socket.io ×2, cluster adapter",
    topology: { processes: 2, joinedBy: "node cluster IPC" },
    protocol: "socket.io",
    paths: SOCKETIO_PATHS,
    async start(ctx) {
      const port = await freePortRange(1);
      const child = spawnLogged(ctx, "socketio", process.execPath, [`${SERVERS_DIR}socketio-broadcast.js`], {
        ADAPTER: "cluster",
        PORT: String(port),
        WORKERS: "2",
      });
      await waitForLogText(`${ctx.dir}/socketio.log`, "all workers listening", child);
      const endpoint = { host: "127.0.0.1", port };
      await waitForTcp([endpoint]);
      // The kernel (cluster's round robin) spreads the subscribers over the two workers.
      return { subscribers: [endpoint], publisher: endpoint, collect: () => rolesOf(child.pid, /^$/) };
    },
  };
}
