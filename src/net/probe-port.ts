import net from "node:net";

function connectOnce(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

/** Polls `check` until it holds (true) or `isCancelled()` turns true (false). */
export async function pollUntil(
  check: () => Promise<boolean>,
  isCancelled: () => boolean,
  intervalMs: number,
): Promise<boolean> {
  while (!isCancelled()) {
    if (await check()) return !isCancelled();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return false;
}

/** Polls until `host:port` accepts a TCP connection (true) or `isCancelled()` turns true (false). */
export function waitForPort(
  host: string,
  port: number,
  isCancelled: () => boolean,
  intervalMs = 100,
): Promise<boolean> {
  return pollUntil(() => connectOnce(host, port, 1000), isCancelled, intervalMs);
}
