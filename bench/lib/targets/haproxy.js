/** The guide's HAProxy in front of a target's workers. */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { renderGuideHaproxyConfig } from "../haproxy-config.js";
import { freePortRange } from "../ports.js";
import { readCmdline } from "../proc.js";
import { spawnLogged } from "./children.js";

/** HAProxy's version line, or null when it is not installed. */
export function haproxyVersion() {
  try {
    return execFileSync("haproxy", ["-v"], { encoding: "utf8" }).split("\n")[0];
  } catch {
    return null;
  }
}

/** Starts HAProxy with the guide's config for `workers` servers from `basePort`, on a free frontend port. */
export async function startGuideHaproxy(ctx, workers, basePort) {
  const frontendPort = await freePortRange(1);
  const config = `${ctx.dir}/haproxy.cfg`;
  writeFileSync(config, renderGuideHaproxyConfig({ frontendPort, basePort, workers }));
  const child = spawnLogged(ctx, "haproxy", "haproxy", ["-db", "-f", config]);
  return { child, frontendPort };
}

/** The started HAProxy as a watched process. */
export function proxyProcess(proxy) {
  return { pid: proxy.child.pid, role: "proxy", cmdline: readCmdline(proxy.child.pid) };
}
