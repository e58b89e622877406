import { chmodSync } from "node:fs";
import net from "node:net";

/**
 * A unix socket server only this user may connect to (0600, like the control socket and HAProxy's admin socket),
 * which does not keep the process alive by itself. Used by the bus hub and the per-address ledger.
 */
export function listenPrivate(socketPath: string): Promise<net.Server> {
  const server = net.createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Connects to a unix socket; rejects if it cannot, and once connected leaves errors to the socket's `close`. With
 * `onread`, every read lands in that one buffer and goes to its callback (no 'data' events, no buffer per read).
 */
export function connectUnix(socketPath: string, onread?: net.OnReadOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(onread ? { path: socketPath, onread } : { path: socketPath });
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve(socket);
    });
    socket.once("error", reject);
    socket.unref();
  });
}

/** Calls `open` again after `delayMs` until it succeeds: a worker's way back to the primary's sockets. */
export function retryEvery(delayMs: number, open: () => Promise<unknown>): void {
  setTimeout(() => {
    open().catch(() => retryEvery(delayMs, open));
  }, delayMs).unref();
}
