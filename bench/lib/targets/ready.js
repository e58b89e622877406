/** Waiting until a target answers WebSocket handshakes. */
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "../connection.js";

const READY_TIMEOUT_MS = 30_000;

function throwIfExited(child) {
  if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
}

/** Waits until every port completes a WebSocket handshake; fails early when `child` (if any) exits first. */
export async function waitForWebSockets(ports, child) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const port of ports) {
    for (;;) {
      throwIfExited(child);
      try {
        const { socket } = await openWebSocket({ host: "127.0.0.1", port, timeoutMs: 2000 });
        socket.destroy();
        break;
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`port ${port} not ready after ${READY_TIMEOUT_MS} ms: ${error.message}`);
        await sleep(100);
      }
    }
  }
}
