import type { RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, type FleetStatus } from "../protocol/control.js";
import { sumCounters } from "../protocol/counters.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** supervisorctl-style table: one line a worker (and HAProxy), columns aligned. Pure, so it is tested alone. */
export function formatStatus(status: FleetStatus, nowMs: number): string {
  const rows: string[][] = [["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "CONNS", "HAPROXY"]];
  for (const worker of status.workers) {
    rows.push([
      worker.name,
      worker.state,
      worker.pid === undefined ? "-" : String(worker.pid),
      String(worker.port),
      worker.startedAt === undefined || worker.state !== "RUNNING" ? "-" : duration(nowMs - worker.startedAt),
      String(worker.restarts),
      worker.counters === undefined ? "-" : String(worker.counters.connectionsOpen),
      status.haproxy?.servers[worker.name] ?? "-",
    ]);
  }
  if (status.haproxy) {
    const { haproxy } = status;
    rows.push([
      "haproxy",
      haproxy.state,
      haproxy.pid === undefined ? "-" : String(haproxy.pid),
      "-",
      "-",
      String(haproxy.restarts),
      "-",
      "-",
    ]);
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  return `primary pid ${status.pid}, up since ${status.startedAt}\n${lines.join("\n")}\n${formatBus(status)}${formatAdmission(status)}${formatReload(status)}`;
}

/** The refused handshakes by reason, and the per-address limits; nothing when there is neither. */
export function formatAdmission(status: FleetStatus): string {
  const totals = sumCounters(status.workers.flatMap((worker) => (worker.counters ? [worker.counters] : [])));
  const refused = Object.entries(totals.refused)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`);
  const lines = refused.length > 0 ? [`refused handshakes: ${refused.join(", ")}`] : [];
  const limits = status.addressLimits;
  if (limits) {
    const parts = [
      limits.maxConnsPerIp !== undefined && `${limits.maxConnsPerIp} connections`,
      limits.handshakeRatePerSec !== undefined && `${limits.handshakeRatePerSec} handshakes/s`,
    ].filter(Boolean);
    const where =
      limits.enforcedBy === "haproxy"
        ? "by HAProxy's stick table"
        : `by the primary's ledger, ${limits.trackedAddresses ?? 0} addresses tracked`;
    lines.push(`per client address: at most ${parts.join(" and ")}, ${where}`);
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/** With --config: the last reload, what it changed or why it was refused. */
function formatReload({ lastReload }: FleetStatus): string {
  if (!lastReload) return "";
  if (lastReload.refused !== undefined) return `last reload ${lastReload.at}: ${lastReload.refused}\n`;
  const changes = lastReload.changes.length === 0 ? "file unchanged, workers rolled" : lastReload.changes.join(", ");
  return `last reload ${lastReload.at}: ${changes}\n`;
}

/** The fleet-wide publish lines: what the workers published and got, the hub, and the broker with --broker. */
function formatBus(status: FleetStatus): string {
  const { bus } = status;
  if (!bus) return "";
  const totals = sumCounters(status.workers.flatMap((worker) => (worker.counters ? [worker.counters] : [])));
  const lines = [
    `publish: ${totals.published} published, ${totals.delivered} delivered from other workers and hosts, ${totals.dropped + bus.dropped} dropped; bus: ${bus.workers} workers connected`,
    `routing: ${bus.topics} topics served (per worker ${servedPerWorker(status)}); ${totals.kept} kept in their worker; hub ${bus.sent} sent, ${bus.skipped} skipped`,
  ];
  const { history, broker } = bus;
  if (history) {
    const local =
      history.sequencedLocally === undefined
        ? ""
        : `; broker: ${history.sequencedLocally} sequenced here while Redis was away, ${history.filledFromStore ?? 0} missed on pub/sub filled from Redis, ${history.lostOnPubSub ?? 0} lost`;
    lines.push(
      `history: ${history.topics} topics, ${history.messages} messages (${history.bytes} bytes) kept; ${history.sequenced} sequenced, ${history.recovered} recovered, ${history.notRecovered} not recovered, ${history.expired} expired${local}`,
    );
  }
  if (broker) {
    lines.push(
      `broker ${broker.url} (${broker.channel}) ${broker.state}: ${broker.subscriptions} subscriptions, ${broker.published} published, ${broker.received} received, ${broker.dropped} dropped, ${broker.lost} lost, ${broker.errors} errors, ${broker.reconnects} reconnects`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Topics each worker serves, in slot order: "3/2/0", "-" for a worker without counters yet. */
function servedPerWorker(status: FleetStatus): string {
  return status.workers.map((worker) => (worker.counters ? String(worker.counters.topics ?? 0) : "-")).join("/");
}

/** `wsfleet status`: asks the running primary over its control socket. */
export async function primaryStatus(raw: RawOptions): Promise<string> {
  const primary = await controlledPrimary(raw);
  const body = expectOk(await controlRequest(primary, CONTROL_REQUESTS.status, { timeoutMs: 5000 }), primary);
  const status = JSON.parse(body) as FleetStatus;
  return raw.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, Date.now());
}
