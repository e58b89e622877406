/** The guide's setup, the baseline: app.py ×N under supervisord, behind the guide's HAProxy. */
import { writeFileSync } from "node:fs";
import { renderSupervisordConfig } from "../haproxy-config.js";
import { freeGuideOffset } from "../ports.js";
import { rolesOf, spawnLogged } from "./children.js";
import { haproxyVersion, proxyProcess, startGuideHaproxy } from "./haproxy.js";
import { ROOT_DIR } from "./paths.js";
import { waitForWebSockets } from "./ready.js";
import { Running } from "./target.js";

const GUIDE_APP = `${ROOT_DIR}test/fixtures/app.py`;
const SYSTEM_PYTHON = "/usr/bin/python3"; // Debian's, with python3-websockets; a pyenv python3 on PATH may lack it
const GUIDE_BASE_PORT = 8000; // app.py listens on 8000 + the last two digits of its process name

export function guideTarget(n, { sweep }) {
  return {
    id: `guide-x${n}`,
    label: `guide: app.py ×${n} under supervisord + HAProxy`,
    workers: n,
    sweep,
    baseline: true,
    proxied: true,
    available: () => (haproxyVersion() ? true : "haproxy is not installed"),
    async start(ctx) {
      const first = await freeGuideOffset(n);
      const { dir } = ctx;
      const conf = `${dir}/supervisord.conf`;
      writeFileSync(
        conf,
        renderSupervisordConfig({
          dir,
          command: `${SYSTEM_PYTHON} ${GUIDE_APP}`,
          workers: n,
          firstProcessNumber: first,
        }),
      );
      const supervisord = spawnLogged(ctx, "supervisord", "supervisord", ["-n", "-c", conf]);
      const proxy = await startGuideHaproxy(ctx, n, GUIDE_BASE_PORT + first);
      const ports = Array.from({ length: n }, (_, i) => GUIDE_BASE_PORT + first + i);
      await waitForWebSockets([...ports, proxy.frontendPort], supervisord);
      return new Running({
        port: proxy.frontendPort,
        collect: () => [...rolesOf(supervisord.pid, /supervisord/), proxyProcess(proxy)],
      });
    },
  };
}
