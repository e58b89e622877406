/** Closed loop (the headline row): each connection keeps `depth` messages in flight, sending one per echo. */
import { performance } from "node:perf_hooks";
import { runEchoLoad } from "./echo-load.js";

export const echo = {
  name: "echo",
  matches: (settings) => settings.mode === "echo" && settings.ratePerSecond === 0,
  run: (settings, hooks) =>
    runEchoLoad(settings, hooks, {
      mode: "echo",
      depth: settings.depth,
      batchFrames: settings.depth,
      resendOnEcho: true,
      start(live, send) {
        const now = performance.now();
        for (const conn of live) {
          for (let i = 0; i < settings.depth; i += 1) conn.queue.push(now);
          send(conn, settings.depth);
        }
        return () => {};
      },
    }),
};
