import type { RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, type Upgraded } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

/**
 * `wsfleet upgrade`: the running primary starts the wsfleet now on disk as a new primary, which takes over the
 * listening sockets; waits until the new one serves, then the old generation drains and exits by itself. Exit 2
 * when this fleet cannot be upgraded (nothing changed), 1 when the new one failed (the old one serves on).
 */
export async function upgradePrimary(raw: RawOptions): Promise<string> {
  const primary = await controlledPrimary(raw);
  const body = expectOk(await controlRequest(primary, CONTROL_REQUESTS.upgrade), primary);
  return (JSON.parse(body) as Upgraded).message;
}
