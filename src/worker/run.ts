import { CLOSE_GOING_AWAY, type PrimaryToWorker, type WorkerToPrimary } from "./messages.js";
import { ListenError, serveEcho } from "./serve.js";

function send(message: WorkerToPrimary): void {
  process.send?.(message);
}

/** Reads the slot from the environment the primary set, serves, and drains on SIGTERM or on the primary's order. */
export async function runWorker(env: NodeJS.ProcessEnv): Promise<void> {
  const port = Number(env.PORT);
  const host = env.WSFLEET_HOST ?? "localhost";
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    process.stderr.write(`wsfleet worker: PORT must be a port number, got ${JSON.stringify(env.PORT)}\n`);
    process.exit(2);
  }
  // The primary is gone (even by SIGKILL): the IPC channel closes and we go too, no orphan.
  process.on("disconnect", () => process.exit(0));
  let server: Awaited<ReturnType<typeof serveEcho>>;
  try {
    server = await serveEcho({ host, port, exclusivePort: true });
  } catch (error) {
    if (error instanceof ListenError) {
      send({ type: "listen-failed", host: error.host, port: error.port });
      process.stderr.write(`${error.message}: the port is in use or the address is not on this machine\n`);
      process.exit(2);
    }
    throw error;
  }
  let draining = false;
  const drain = (closeCode: number, reason: string) => {
    if (draining) return;
    draining = true;
    void server.drain(closeCode, reason).then(() => process.exit(0));
  };
  process.on("SIGTERM", () => drain(CLOSE_GOING_AWAY, "server shutting down"));
  // The primary handles Ctrl-C for the whole fleet; a worker in its own group does not see it, and ignores it if sent.
  process.on("SIGINT", () => {});
  process.on("message", (message: PrimaryToWorker) => {
    if (message?.type === "drain")
      drain(message.closeCode, message.closeCode === CLOSE_GOING_AWAY ? "server shutting down" : "service restart");
  });
  send({ type: "listening", port, addresses: server.addresses });
}
