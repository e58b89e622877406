import { parseInteger } from "../config/parsers.js";
import type { RawOptions } from "../config/settings.js";
import { controlledPrimary, controlRequest, expectOk } from "./control-client.js";
import { DEFAULT_LOG_LINES } from "./control-server.js";

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
  const query = new URLSearchParams({ lines: String(lines), ...(name === undefined ? {} : { name }) });
  if (raw.follow) query.set("follow", "1");
  const answer = await controlRequest(primary, "GET", `/logs?${query}`, { onChunk: write });
  expectOk(answer, primary);
}
