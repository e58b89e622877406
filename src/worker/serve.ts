import uWS from "uWebSockets.js";
import { gateSettings } from "../admission/gate.js";
import { LedgerClient } from "../admission/ledger-client.js";
import { RefusalLog } from "../admission/refusal-log.js";
import type { WsfleetApp } from "../api/types.js";
import { WorkerHistory } from "../history/worker-history.js";
import { listenAddresses } from "../net/listen-addresses.js";
import type { BrokerCounts, Counters } from "../protocol/counters.js";
import type { WorkerSettings } from "../protocol/worker-env.js";
import type { BrokerPeer } from "./broker-peer.js";
import { BusClient } from "./bus-client.js";
import { closedBy, SPREAD_TICK_MS } from "./drain-spread.js";
import { createFleetHandle, deliverFromBus } from "./fleet-handle.js";
import { type HostState, hostApp } from "./host.js";
import { TopicInterest } from "./topic-interest.js";

export interface RunningServer {
  addresses: string[];
  /**
   * The drain order: `/healthz` and new handshakes answer 503 at once; after `drainTimeoutMs` the listen sockets
   * close and the open connections get `closeCode`, spread evenly over `drainSpreadMs` so their clients reconnect at
   * a steady rate instead of all in the same millisecond; resolves when all are closed.
   */
  drain(closeCode: number, reason: string, listenersFirst?: boolean): Promise<void>;
  /** With the worker on Redis itself (--broker, no --history): its side of the broker's counts. */
  brokerCounts(): BrokerCounts | undefined;
}

export class ListenError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`could not listen on ${host}:${port}`);
  }
}

/** libusockets' listen flags; the typings of v20.51.0 declare the enum but the runtime exports no object for it. */
const LIBUS_LISTEN_DEFAULT = 0;
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** uWS.js takes (host, port, options, callback) at run time; its typings omit that overload. */
type ListenWithOptions = (
  host: string,
  port: number,
  options: number,
  callback: (socket: uWS.us_listen_socket | false) => void,
) => uWS.TemplatedApp;

function listenOn(
  app: uWS.TemplatedApp,
  address: string,
  port: number,
  exclusive: boolean,
): Promise<uWS.us_listen_socket> {
  return new Promise((resolve, reject) => {
    // Without the exclusive flag uWS sets SO_REUSEPORT, and a second server on the port would silently share it.
    const flags = exclusive ? LIBUS_LISTEN_EXCLUSIVE_PORT : LIBUS_LISTEN_DEFAULT;
    (app.listen as unknown as ListenWithOptions).call(app, address, port, flags, (socket) =>
      socket ? resolve(socket) : reject(new ListenError(address, port)),
    );
  });
}

/** Closes `connections` in order, `closedBy` of them by each tick, skipping those their clients closed meanwhile. */
function closeSpread<T>(connections: T[], state: { open: Set<T> }, spreadMs: number, close: (each: T) => void): void {
  const startedAt = performance.now();
  let next = 0;
  const closeDue = () => {
    const due = closedBy(connections.length, spreadMs, performance.now() - startedAt);
    for (; next < due; next += 1) {
      const ws = connections[next] as T;
      if (state.open.has(ws)) close(ws);
    }
    if (next < connections.length) setTimeout(closeDue, SPREAD_TICK_MS);
  };
  closeDue();
}

export async function serve(
  app: WsfleetApp,
  settings: WorkerSettings,
  counters: Counters,
  log: (line: string) => void,
): Promise<RunningServer> {
  const state: HostState = { draining: false, open: new Set(), upgrading: 0, onAllClosed: undefined };
  const admission = {
    gate: gateSettings(settings),
    // Asked before each upgrade, so --max-conns-per-ip and --handshake-rate count across every worker of the fleet.
    ledger: settings.ledgerPath ? await LedgerClient.connect(settings.ledgerPath) : undefined,
    log: new RefusalLog(log, { setTimeout: (callback, ms) => setTimeout(callback, ms).unref() }),
  };
  const server = hostApp(app, settings, counters, state, admission);
  const compress = settings.compression !== "off";
  // Connected before setup(), so the app's first publish already reaches the other workers.
  let bus: BusClient | undefined;
  const interest = new TopicInterest(counters, (notice) => bus?.send(notice));
  // --history: every publish through the hub's sequencer, subscribers recovered from its history.
  const history =
    settings.busPath && settings.history > 0
      ? new WorkerHistory<uWS.WebSocket<object>>(
          (frame) => bus?.send(frame) ?? false,
          {
            isOpen: (ws) => state.open.has(ws as never),
            send: (ws, data, isBinary) => void ws.send(data, isBinary, compress),
            subscribe: (ws, topic) => void ws.subscribe(topic),
            publishLocal: (topic, data, isBinary) => void server.publish(topic, data, isBinary, compress),
            hold: (key) => interest.hold(key),
            release: (key) => interest.release(key),
          },
          app.envelope?.bind(app),
        )
      : undefined;
  // --broker without --history: this worker publishes to and subscribes on Redis itself. ioredis is loaded only then,
  // so a worker without a broker keeps a smaller heap (and cheaper GCs).
  let broker: BrokerPeer | undefined;
  if (settings.broker && !history) {
    const { BrokerPeer } = await import("./broker-peer.js");
    broker = await BrokerPeer.open(settings.broker, server, counters, compress, log);
  }
  if (settings.busPath) state.subscription = interest.subscription;
  if (broker) state.subscription = broker.watch(state.subscription);
  if (settings.busPath) {
    bus = await BusClient.connect(
      settings.busPath,
      deliverFromBus(server, counters, compress, interest, history),
      () => {
        history?.lost();
        interest.reconnected();
      },
    );
  }
  await app.setup?.(createFleetHandle(server, bus, settings.workerName, counters, compress, interest, history, broker));
  const addresses = await listenAddresses(settings.host);
  const sockets: uWS.us_listen_socket[] = [];
  try {
    for (const address of addresses)
      sockets.push(await listenOn(server, address, settings.port, settings.exclusivePort));
  } catch (error) {
    for (const socket of sockets) uWS.us_listen_socket_close(socket);
    throw error;
  }
  return {
    addresses,
    brokerCounts: () => broker?.counts(),
    async drain(closeCode, reason, listenersFirst = false) {
      state.draining = true;
      // An upgrade: the next generation shares the port, so closing now hands it every new connection.
      if (listenersFirst) for (const socket of sockets.splice(0)) uWS.us_listen_socket_close(socket);
      if (settings.drainTimeoutMs > 0) await new Promise((resolve) => setTimeout(resolve, settings.drainTimeoutMs));
      for (const socket of sockets.splice(0)) uWS.us_listen_socket_close(socket);
      if (state.open.size === 0) return;
      const allClosed = new Promise<void>((resolve) => {
        state.onAllClosed = resolve;
      });
      closeSpread([...state.open], state, settings.drainSpreadMs, (ws) => ws.end(closeCode, reason));
      await allClosed;
    },
  };
}
