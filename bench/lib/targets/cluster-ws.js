/** Node's `cluster` with N `ws` echo workers sharing one port (servers/cluster-ws.js). */
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";
import { waitForLogText, waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

export function clusterWsTarget(n) {
  return {
    id: `cluster-ws-x${n}`,
    label: `Node cluster + ws ×${n}`,
    workers: n,
    available: () => true,
    async start(ctx) {
      const port = await freePortRange(1);
      const child = spawnLogged(ctx, "cluster", process.execPath, [`${SERVERS_DIR}cluster-ws.js`], {
        PORT: String(port),
        WORKERS: String(n),
      });
      await waitForWebSockets([port], child);
      // All workers listening, not just the first: servers/cluster-ws.js says so once they are.
      await waitForLogText(`${ctx.dir}/cluster.log`, "all workers listening", child);
      return new Running({ port, collect: () => rolesOf(child.pid, /^$/) });
    },
  };
}
