import type { RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, type Reloaded } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

/**
 * `wsfleet reload`: the running primary re-reads its --config and applies what changed (without one: a rolling
 * restart), as SIGHUP does; waits until it is done, and exits 2 with the reason when the file is refused.
 */
export async function reloadPrimary(raw: RawOptions): Promise<string> {
  const primary = await controlledPrimary(raw);
  const body = expectOk(await controlRequest(primary, CONTROL_REQUESTS.reload), primary);
  return `primary ${primary.pid}: ${(JSON.parse(body) as Reloaded).message}`;
}
