import { CLOSE_GOING_AWAY } from "../protocol/close-codes.js";
import { createCounters, snapshotCounters } from "../protocol/counters.js";
import { isPrimaryMessage, type WorkerToPrimary } from "../protocol/messages.js";
import { decodeWorkerEnv, type WorkerSettings } from "../protocol/worker-env.js";
import { loadApp } from "./load-app.js";
import { ListenError, type RunningServer, serve } from "./serve.js";

const STATS_INTERVAL_MS = 1000;

function send(message: WorkerToPrimary): void {
  if (process.connected) process.send?.(message);
}

function fail(message: string): never {
  process.stderr.write(`wsfleet worker: ${message}\n`);
  process.exit(2);
}

/** Reads the slot from the environment, serves the app, reports counters, drains on SIGTERM or the primary's order. */
export async function runWorker(env: NodeJS.ProcessEnv): Promise<void> {
  let settings: WorkerSettings;
  try {
    settings = decodeWorkerEnv(env);
  } catch (error) {
    fail((error as Error).message);
  }
  // The primary is gone (even by SIGKILL): the IPC channel closes and we go too, no orphan.
  process.on("disconnect", () => process.exit(0));
  const counters = createCounters();
  let server: RunningServer;
  try {
    server = await serve(await loadApp(settings, counters), settings, counters, (line) =>
      process.stderr.write(`wsfleet worker: ${line}\n`),
    );
  } catch (error) {
    if (error instanceof ListenError) {
      send({ type: "listen-failed", host: error.host, port: error.port });
      fail(`${error.message}: the port is in use or the address is not on this machine`);
    }
    fail((error as Error).message);
  }
  const stats = () => {
    const snapshot = snapshotCounters(counters);
    const broker = server.brokerCounts();
    if (broker) snapshot.broker = broker;
    send({ type: "stats", counters: snapshot });
  };
  const statsTimer = setInterval(stats, STATS_INTERVAL_MS);
  statsTimer.unref();
  let draining = false;
  const drain = (closeCode: number, listenersFirst = false) => {
    if (draining) return;
    draining = true;
    const reason = closeCode === CLOSE_GOING_AWAY ? "server shutting down" : "service restart";
    void server.drain(closeCode, reason, listenersFirst).then(() => {
      stats();
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => drain(CLOSE_GOING_AWAY));
  // The primary handles Ctrl-C for the whole fleet; a worker in its own group does not see it, and ignores it if sent.
  process.on("SIGINT", () => {});
  process.on("message", (message: unknown) => {
    if (isPrimaryMessage(message)) drain(message.closeCode, message.listenersFirst === true);
  });
  send({ type: "listening", port: settings.port, addresses: server.addresses });
  // Counters from the start, so status and /metrics never show a running worker without them.
  stats();
}
