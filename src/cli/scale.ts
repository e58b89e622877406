import { parseInteger } from "../config/parsers.js";
import { MAX_WORKERS, type RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, type FleetStatus } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";
import { formatStatus } from "./status.js";

/** `wsfleet scale <n>`: grow or shrink the running fleet to n workers (HAProxy follows); prints the new status. */
export async function scalePrimary(raw: RawOptions, rawCount: string): Promise<string> {
  const count = parseInteger(
    "wsfleet scale <n>",
    rawCount,
    1,
    MAX_WORKERS,
    `a whole number of workers from 1 to ${MAX_WORKERS}, for example wsfleet scale 4`,
  );
  const primary = await controlledPrimary(raw);
  const body = expectOk(
    await controlRequest(primary, CONTROL_REQUESTS.scale, { query: { workers: String(count) } }),
    primary,
  );
  const status = JSON.parse(body) as FleetStatus;
  return `scaled to ${status.workers.length} workers\n${formatStatus(status, Date.now())}`;
}
