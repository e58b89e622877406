/** Waiting until a target is ready: on a condition, polled, never on a fixed sleep. */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "../connection.js";

const READY_TIMEOUT_MS = 30_000;

/** Polls `check()` every `intervalMs` until it is true (resolves true) or `timeoutMs` passed (resolves false). */
export async function pollUntil(check, timeoutMs, intervalMs = 10) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

function throwIfExited(child) {
  if (child && child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
}

/** Waits until every port completes a WebSocket handshake (after a TLS one with `tls`); fails early when `child` (if any) exits first. */
export async function waitForWebSockets(ports, child, { tls = false } = {}) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (const port of ports) {
    for (;;) {
      throwIfExited(child);
      try {
        const { socket } = await openWebSocket({ host: "127.0.0.1", port, timeoutMs: 2000, tls });
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

/** Waits until the log `file` holds `text`: how a server with many workers says that all of them listen. */
export async function waitForLogText(file, text, child) {
  const ready = await pollUntil(() => {
    throwIfExited(child);
    return readFileSync(file, "utf8").includes(text);
  }, READY_TIMEOUT_MS);
  if (!ready) throw new Error(`${file} did not say "${text}" within ${READY_TIMEOUT_MS} ms`);
}
