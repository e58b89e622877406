/** wsfleet ×N behind nginx as a WebSocket proxy: what HAProxy costs against the cheapest common alternative. */
import { nginxVersion, startNginx } from "./nginx.js";
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetNginxTarget(n) {
  const target = wsfleetTarget({
    id: `wsfleet-nginx-x${n}`,
    label: `wsfleet ×${n} + nginx`,
    workers: n,
    proxied: true,
    front: async (ctx, { basePort }) => {
      const proxy = await startNginx(ctx, n, basePort);
      return { port: proxy.frontendPort, proxy };
    },
  });
  return { ...target, available: () => (nginxVersion() ? target.available() : "nginx is not installed") };
}
