import type { RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, type FleetStatus } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";
import { formatStatus } from "./status.js";

/**
 * `wsfleet restart <name>`: that worker drained and replaced as in a rolling restart, the others untouched;
 * `wsfleet restart all` is the rolling restart itself (as `wsfleet reload`, but it waits until it is done).
 */
export async function restartWorker(raw: RawOptions, name: string): Promise<string> {
  const primary = await controlledPrimary(raw);
  const before = JSON.parse(expectOk(await controlRequest(primary, CONTROL_REQUESTS.status), primary)) as FleetStatus;
  const body = expectOk(await controlRequest(primary, CONTROL_REQUESTS.restart, { query: { name } }), primary);
  const after = JSON.parse(body) as FleetStatus;
  const pidOf = (status: FleetStatus) => status.workers.find((worker) => worker.name === name)?.pid ?? "-";
  const done = name === "all" ? "rolling restart done" : `${name}: restarted, pid ${pidOf(before)} → ${pidOf(after)}`;
  return `${done}\n${formatStatus(after, Date.now())}`;
}
