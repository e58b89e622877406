/** wsfleet ×N with `--haproxy`: the fleet runs its own HAProxy in front, on the frontend port. */
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetHaproxyTarget(n, { sweep }) {
  return wsfleetTarget({
    id: `wsfleet-haproxy-x${n}`,
    label: `wsfleet --haproxy ×${n}`,
    workers: n,
    sweep,
    proxied: true,
    requires: "--haproxy",
    args: ({ frontendPort }) => ["--haproxy", "--frontend-port", String(frontendPort)],
    front: async (_ctx, { frontendPort }) => ({ port: frontendPort, proxy: null }),
  });
}
