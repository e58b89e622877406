/** wsfleet ×N behind the guide's HAProxy (its haproxy.cfg, started separately), as the guide deploys app.py. */
import { startGuideHaproxy } from "./haproxy.js";
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetGuideHaproxyTarget(n) {
  return wsfleetTarget({
    id: `wsfleet-guide-haproxy-x${n}`,
    label: `wsfleet ×${n} + the guide's HAProxy`,
    workers: n,
    proxied: true,
    front: async (ctx, { basePort }) => {
      const proxy = await startGuideHaproxy(ctx, n, basePort);
      return { port: proxy.frontendPort, proxy };
    },
  });
}
