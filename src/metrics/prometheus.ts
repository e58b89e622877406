import { Counter, Gauge, Registry } from "prom-client";
import type { BalancerStatus, WorkerStatus } from "../protocol/control.js";
import type { Counters } from "../protocol/counters.js";
import type { ProcessState } from "../supervise/states.js";

type CounterName = Exclude<keyof Counters, "closeCodes" | "refused" | "broker">;

/** Each counter a worker reports, as a Prometheus metric (name, type, help). */
const COUNTER_METRICS: ReadonlyArray<[CounterName, string, "gauge" | "counter", string]> = [
  ["connectionsOpen", "wsfleet_connections_open", "gauge", "WebSocket connections open now."],
  ["connectionsTotal", "wsfleet_connections_total", "counter", "WebSocket connections accepted."],
  ["messagesIn", "wsfleet_messages_received_total", "counter", "Messages received."],
  ["bytesIn", "wsfleet_received_bytes_total", "counter", "Message payload bytes received."],
  ["messagesOut", "wsfleet_messages_sent_total", "counter", "Messages sent by the built-in echo."],
  ["bytesOut", "wsfleet_sent_bytes_total", "counter", "Message payload bytes sent by the built-in echo."],
  ["backpressureEvents", "wsfleet_backpressure_events_total", "counter", "Sends that met a full socket buffer."],
  ["rejectedHandshakes", "wsfleet_rejected_handshakes_total", "counter", "Handshakes answered 503 while draining."],
  ["published", "wsfleet_publish_published_total", "counter", "fleet.publish calls made in the worker."],
  ["delivered", "wsfleet_publish_delivered_total", "counter", "Publishes of other workers and hosts delivered here."],
  ["dropped", "wsfleet_publish_dropped_total", "counter", "Publishes lost because the bus was unreachable."],
  ["topics", "wsfleet_publish_topics", "gauge", "Topics with a subscriber in the worker (told to the hub)."],
  ["kept", "wsfleet_publish_kept_total", "counter", "Publishes no other worker or host served: not sent on."],
];

/** Every Supervisor state, so a state with no worker reads 0 rather than vanishing. */
const STATES: readonly ProcessState[] = ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL"];

/** What one scrape sees: the workers' statuses and, with --haproxy, HAProxy's. */
export interface FleetSnapshot {
  workers: readonly WorkerStatus[];
  haproxy: BalancerStatus | undefined;
}

/** What `wsfleet_info` carries. */
export interface Versions {
  wsfleet: string;
  node: string;
  /** With --haproxy: the version `haproxy -v` reports. */
  haproxy?: string | undefined;
}

const workerLabels = (status: WorkerStatus) => ({ worker: status.name, port: String(status.port) });

/** "UP (drain)" → UP and drain: the runtime API's operational and admin states, as BalancerStatus joins them. */
function splitServerState(state: string): { state: string; admin: string } {
  const match = /^(\S+)(?: \((\w+)\))?$/.exec(state);
  return { state: match?.[1] ?? state, admin: (match?.[2] ?? "ready").toLowerCase() };
}

/**
 * The fleet's metrics on prom-client: one registry whose metrics read the snapshot taken at each scrape, so the
 * numbers are the workers' own (reported once a second), never counted twice. Resolves with the text exposition.
 */
export function fleetMetrics(snapshot: () => Promise<FleetSnapshot>, versions: Versions): () => Promise<string> {
  const registry = new Registry();
  let current: FleetSnapshot = { workers: [], haproxy: undefined };
  const reporting = () => current.workers.filter((status) => status.counters !== undefined);

  new Gauge({
    name: "wsfleet_info",
    help: "Versions of wsfleet, Node.js and (with --haproxy) HAProxy; always 1.",
    labelNames: ["version", "nodejs", "haproxy"],
    registers: [registry],
  }).set(
    { version: versions.wsfleet, nodejs: versions.node, ...(versions.haproxy ? { haproxy: versions.haproxy } : {}) },
    1,
  );
  new Gauge({
    name: "wsfleet_workers",
    help: "Worker slots in each Supervisor state.",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      for (const state of STATES) {
        this.set({ state }, current.workers.filter((status) => status.state === state).length);
      }
    },
  });
  new Gauge({
    name: "wsfleet_worker_running",
    help: "1 if the worker is RUNNING (Supervisor state), else 0.",
    labelNames: ["worker", "port", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of current.workers) {
        this.set({ ...workerLabels(status), state: status.state }, status.state === "RUNNING" ? 1 : 0);
      }
    },
  });
  new Counter({
    name: "wsfleet_worker_restarts_total",
    help: "Restarts of the worker slot since the fleet started.",
    labelNames: ["worker", "port"],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of current.workers) this.inc(workerLabels(status), status.restarts);
    },
  });
  for (const [key, name, type, help] of COUNTER_METRICS) {
    const config = { name, help, labelNames: ["worker", "port"], registers: [registry] };
    if (type === "gauge") {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          for (const status of reporting()) this.set(workerLabels(status), status.counters?.[key] ?? 0);
        },
      });
    } else {
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const status of reporting()) this.inc(workerLabels(status), status.counters?.[key] ?? 0);
        },
      });
    }
  }
  /** A worker's counts by one label (close code, refusal reason), one series per worker and value. */
  const countedBy = (
    name: string,
    help: string,
    label: string,
    counts: (counters: Counters) => Record<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ["worker", "port", label],
      registers: [registry],
      collect() {
        this.reset();
        for (const status of reporting()) {
          if (!status.counters) continue;
          for (const [value, count] of Object.entries(counts(status.counters) ?? {})) {
            this.inc({ ...workerLabels(status), [label]: value }, count);
          }
        }
      },
    });
  countedBy("wsfleet_close_codes_total", "WebSocket connections closed, by close code.", "code", (c) => c.closeCodes);
  countedBy(
    "wsfleet_handshakes_refused_total",
    "Handshakes a worker refused, by reason (origin, max-connections, conns-per-ip, handshake-rate, authorize, authorize-error, draining...).",
    "reason",
    (c) => c.refused,
  );
  new Gauge({
    name: "wsfleet_haproxy_server",
    help: "HAProxy's view of each server (runtime API): 1 with its operational state (UP, DOWN...) and admin state (ready, drain, maint).",
    labelNames: ["server", "state", "admin"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [server, state] of Object.entries(current.haproxy?.servers ?? {})) {
        this.set({ server, ...splitServerState(state) }, 1);
      }
    },
  });
  new Counter({
    name: "wsfleet_haproxy_restarts_total",
    help: "Restarts of the supervised HAProxy (with --haproxy).",
    registers: [registry],
    collect() {
      this.reset();
      if (current.haproxy) this.inc(current.haproxy.restarts);
    },
  });
  return async () => {
    current = await snapshot();
    return registry.metrics();
  };
}
