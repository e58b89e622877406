/** One `ws` echo process (servers/ws-echo.js), reached directly. */
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";
import { waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

export function wsSingleTarget() {
  return {
    id: "ws-x1",
    label: "one ws process",
    workers: 1,
    sweep: true,
    available: () => true,
    async start(ctx) {
      const port = await freePortRange(1);
      const child = spawnLogged(ctx, "ws", process.execPath, [`${SERVERS_DIR}ws-echo.js`], { PORT: String(port) });
      await waitForWebSockets([port], child);
      return new Running({ port, collect: () => rolesOf(child.pid, /^$/).map((p) => ({ ...p, role: "worker" })) });
    },
  };
}
