import type { WorkerStatus } from "../fleet/worker.js";
import type { Counters } from "../protocol/counters.js";

type CounterName = Exclude<keyof Counters, "closeCodes">;

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
];

function labels(status: WorkerStatus, extra = ""): string {
  return `{worker="${status.name}",port="${status.port}"${extra}}`;
}

/** The Prometheus text exposition of the fleet: pure, from the workers' statuses. */
export function renderMetrics(statuses: readonly WorkerStatus[]): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, rows: string[]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...rows);
  };
  metric(
    "wsfleet_worker_running",
    "gauge",
    "1 if the worker is RUNNING (Supervisor state), else 0.",
    statuses.map(
      (status) =>
        `wsfleet_worker_running${labels(status, `,state="${status.state}"`)} ${status.state === "RUNNING" ? 1 : 0}`,
    ),
  );
  metric(
    "wsfleet_worker_restarts_total",
    "counter",
    "Restarts of the worker slot since the fleet started.",
    statuses.map((status) => `wsfleet_worker_restarts_total${labels(status)} ${status.restarts}`),
  );
  const reporting = statuses.filter((status) => status.counters !== undefined);
  for (const [key, name, type, help] of COUNTER_METRICS) {
    metric(
      name,
      type,
      help,
      reporting.map((status) => `${name}${labels(status)} ${status.counters?.[key] ?? 0}`),
    );
  }
  metric(
    "wsfleet_close_codes_total",
    "counter",
    "WebSocket connections closed, by close code.",
    reporting.flatMap((status) =>
      Object.entries(status.counters?.closeCodes ?? {}).map(
        ([code, count]) => `wsfleet_close_codes_total${labels(status, `,code="${code}"`)} ${count}`,
      ),
    ),
  );
  return `${lines.join("\n")}\n`;
}
