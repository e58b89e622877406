import type { RawOptions } from "../config/settings.js";
import { choosePrimary } from "./choose-primary.js";
import { askPrimary } from "./control-client.js";
import type { FleetStatus } from "./control-server.js";

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
  return `primary pid ${status.pid}, up since ${status.startedAt}\n${lines.join("\n")}\n`;
}

/** `wsfleet status`: asks the running primary over its control socket. */
export async function primaryStatus(raw: RawOptions): Promise<string> {
  const status = await askPrimary<FleetStatus>(await choosePrimary(raw.pid), "GET", "/status");
  return raw.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status, Date.now());
}
