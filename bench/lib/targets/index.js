/**
 * The servers under comparison, one file each (see target.js for what a target is). A new target is a file here
 * and a line in one of the lists below.
 */
import { clusterWsTarget } from "./cluster-ws.js";
import { guideTarget } from "./guide.js";
import { pm2WsTarget } from "./pm2-ws.js";
import { uwsSingleTarget } from "./uws-x1.js";
import { wsSingleTarget } from "./ws-x1.js";
import { wsfleetGuideHaproxyTarget } from "./wsfleet-guide-haproxy.js";
import { wsfleetHaproxyTarget } from "./wsfleet-haproxy.js";
import { wsfleetHaproxyTlsTarget } from "./wsfleet-haproxy-tls.js";
import { wsfleetNginxTarget } from "./wsfleet-nginx.js";
import { wsfleetSharedPortTarget } from "./wsfleet-shared-port.js";
import { wsfleetSharedPortTlsTarget } from "./wsfleet-shared-port-tls.js";
import { wsfleetSingleTarget } from "./wsfleet-x1.js";

/** Targets measured for each worker count, in report order; each is `(n, { sweep }) => target`. */
const PER_WORKER_COUNT = [
  guideTarget,
  clusterWsTarget,
  pm2WsTarget,
  wsfleetGuideHaproxyTarget,
  wsfleetHaproxyTarget,
  wsfleetNginxTarget,
  wsfleetSharedPortTarget,
  // wss://: what TLS costs, at HAProxy or in the workers.
  wsfleetHaproxyTlsTarget,
  wsfleetSharedPortTlsTarget,
];

/** Targets of one process, measured once. */
const SINGLE = [wsfleetSingleTarget, wsSingleTarget, uwsSingleTarget];

/** Every target of issue 6 for N workers; the sweep rows run where N is the number of cores. */
export function buildTargets(n, { cores }) {
  return PER_WORKER_COUNT.map((make) => make(n, { sweep: n === cores }));
}

export function singleTargets() {
  return SINGLE.map((make) => make());
}
