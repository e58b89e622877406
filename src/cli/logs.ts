import { parseInteger } from "../config/parsers.js";
import type { RawOptions } from "../config/settings.js";
import { CONTROL_REQUESTS, DEFAULT_LOG_LINES } from "../protocol/control.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";

/**
 * `wsfleet logs [name] [-f]`: the last lines a worker printed (or, without a name, every worker's lines and the
 * primary's events, interleaved), kept by the primary; `-f` follows, like `supervisorctl tail -f` and `pm2 logs`.
 */
export async function showLogs(
  raw: RawOptions,
  name: string | undefined,
  write: (text: string) => void,
): Promise<void> {
  const lines =
    raw.lines === undefined
      ? DEFAULT_LOG_LINES
      : parseInteger("--lines", raw.lines, 0, 100_000, "how many of the last lines to show, for example --lines 50");
  const primary = await controlledPrimary(raw);
  const query = {
    lines: String(lines),
    ...(name === undefined ? {} : { name }),
    ...(raw.follow ? { follow: "1" } : {}),
  };
  const answer = await controlRequest(primary, CONTROL_REQUESTS.logs, { query, onChunk: write });
  expectOk(answer, primary);
}
