/**
 * Broadcast: one wsfleet fleet with the embedded bus (no --broker). With one worker: one wsfleet worker publishing to
 * every subscriber locally (the bare uWebSockets.js process of broadcast-uws.js is the real floor).
 */
import { startFleet, WS_PATHS } from "./broadcast-common.js";

/**
 * `history`: --history <n> (issue 21): every publish sequenced by the hub, and back to each worker with its offset.
 * `primary`: another build's dist/primary.js (--baseline), measured beside this one.
 */
export function broadcastWsfleetTarget(workers, { history, primary } = {}) {
  const suffix = (history ? `, --history ${history}` : "") + (primary ? `, baseline ${primary}` : "");
  return {
    id: `wsfleet-embedded-x${workers}${history ? "-history" : ""}${primary ? "-baseline" : ""}`,
    label: (workers === 1 ? "wsfleet ×1, local publish only" : `wsfleet ×${workers}, embedded bus`) + suffix,
    topology: { processes: workers, joinedBy: workers === 1 ? "none" : "embedded bus" },
    protocol: "ws",
    paths: WS_PATHS,
    async start(ctx) {
      const fleet = await startFleet(ctx, { name: "wsfleet", host: "127.0.0.1", workers, history, primary });
      return { subscribers: fleet.endpoints, publisher: fleet.endpoints[0], collect: fleet.pids };
    },
  };
}
