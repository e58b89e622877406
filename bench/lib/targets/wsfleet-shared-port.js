/** wsfleet ×N with `--shared-port`: every worker listens on one port, no proxy; the workers' own ports stay shut. */
import { wsfleetTarget } from "./wsfleet.js";

export function wsfleetSharedPortTarget(n, { sweep }) {
  return wsfleetTarget({
    id: `wsfleet-shared-port-x${n}`,
    label: `wsfleet shared-port ×${n}`,
    workers: n,
    sweep,
    requires: "--shared-port",
    args: ({ frontendPort }) => ["--shared-port", String(frontendPort)],
    workersAnswer: false,
    front: async (_ctx, { frontendPort }) => ({ port: frontendPort, proxy: null }),
  });
}
