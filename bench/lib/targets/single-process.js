/** A target of one server process from servers/, reached directly on its port. */
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { SERVERS_DIR } from "./paths.js";
import { waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

export function singleProcessTarget({ id, label, script }) {
  return {
    id,
    label,
    workers: 1,
    sweep: true,
    available: () => true,
    async start(ctx) {
      const port = await freePortRange(1);
      const child = spawnLogged(ctx, id, process.execPath, [`${SERVERS_DIR}${script}`], { PORT: String(port) });
      await waitForWebSockets([port], child);
      return new Running({ port, collect: () => rolesOf(child.pid, /^$/).map((p) => ({ ...p, role: "worker" })) });
    },
  };
}
