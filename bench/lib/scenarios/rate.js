/** Open loop: `ratePerSecond` messages in total, spread evenly over the connections, whatever the answers do. */
import { performance } from "node:perf_hooks";
import { runEchoLoad } from "./echo-load.js";

export const rate = {
  name: "rate",
  matches: (settings) => settings.mode === "echo" && settings.ratePerSecond > 0,
  run: (settings, hooks) =>
    runEchoLoad(settings, hooks, {
      mode: "rate",
      depth: 1,
      batchFrames: 64,
      resendOnEcho: false,
      start(live, send, state) {
        // wrk2's correction for coordinated omission: latency runs from when a message was due, not when it went out.
        const intervalMs = (1000 * live.length) / settings.ratePerSecond;
        const start = performance.now();
        live.forEach((conn, i) => {
          conn.nextSendAt = start + (intervalMs * i) / live.length;
        });
        const ticker = setInterval(() => {
          if (!state.sending) return;
          const now = performance.now();
          for (const conn of live) {
            let n = 0;
            while (conn.nextSendAt <= now) {
              conn.queue.push(conn.nextSendAt);
              conn.nextSendAt += intervalMs;
              n += 1;
            }
            if (n > 0 && !conn.socket.destroyed) send(conn, n);
          }
        }, 1);
        return () => clearInterval(ticker);
      },
    }),
};
