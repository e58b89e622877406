import type { RawOptions } from "../config/settings.js";
import { choosePrimary } from "./choose-primary.js";

/** `wsfleet reload`: SIGHUP to the primary (rolling restart); returns what to print. */
export async function reloadPrimary(raw: RawOptions): Promise<string> {
  const { pid } = await choosePrimary(raw.pid, raw.runtimeDir);
  process.kill(pid, "SIGHUP");
  return `sent SIGHUP to the wsfleet primary with pid ${pid}: rolling restart under way, see its log`;
}
