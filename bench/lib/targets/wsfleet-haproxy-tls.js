/** wsfleet ×N with `--haproxy --tls-cert`: HAProxy terminates wss:// in front, the workers stay plain on loopback. */
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetHaproxyTlsTarget(n, { sweep }) {
  return wsfleetTarget({
    id: `wsfleet-haproxy-tls-x${n}`,
    label: `wsfleet --haproxy wss:// ×${n}`,
    workers: n,
    sweep,
    proxied: true,
    tls: true,
    requires: "--tls-cert",
    args: ({ frontendPort }) => ["--haproxy", "--frontend-port", String(frontendPort)],
    front: async (_ctx, { frontendPort }) => ({ port: frontendPort, proxy: null }),
  });
}
