/** nginx (Debian's nginx-light) as the WebSocket proxy in front of a target's workers. */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { renderNginxConfig } from "../nginx-config.js";
import { freePortRange } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";

/** nginx's version line, or null when it is not installed. */
export function nginxVersion() {
  try {
    // nginx -v prints on stderr
    return execFileSync("nginx", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) || "nginx";
  } catch {
    return null;
  }
}

/** Starts nginx for `workers` servers from `basePort`, on a free frontend port, one nginx worker per usable core. */
export async function startNginx(ctx, workers, basePort) {
  const frontendPort = await freePortRange(1);
  const config = `${ctx.dir}/nginx.conf`;
  // availableParallelism() follows the affinity mask, so a pinned run gives nginx the server cores, like HAProxy.
  const processes = os.availableParallelism();
  writeFileSync(config, renderNginxConfig({ dir: ctx.dir, frontendPort, basePort, workers, processes }));
  const child = spawnLogged(ctx, "nginx", "nginx", ["-p", ctx.dir, "-e", `${ctx.dir}/nginx-error.log`, "-c", config]);
  const nginx = { child, frontendPort };
  return { ...nginx, processes: () => nginxProcesses(nginx) };
}

/** nginx's master and workers, all with the proxy role. */
function nginxProcesses(nginx) {
  return rolesOf(nginx.child.pid, /^$/).map((p) => ({ ...p, role: "proxy" }));
}
