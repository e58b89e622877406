/** wsfleet ×N with `--shared-port --tls-cert`: every worker serves wss:// itself (uWebSockets.js SSLApp), no proxy. */
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetSharedPortTlsTarget(n, { sweep }) {
  return wsfleetTarget({
    id: `wsfleet-shared-port-tls-x${n}`,
    label: `wsfleet shared-port wss:// ×${n}`,
    workers: n,
    sweep,
    tls: true,
    requires: "--tls-cert",
    args: ({ frontendPort }) => ["--shared-port", String(frontendPort)],
    workersAnswer: false,
    front: async (_ctx, { frontendPort }) => ({ port: frontendPort, proxy: null }),
  });
}
