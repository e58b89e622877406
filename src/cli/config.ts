import type { Options } from "../config/validate.js";
import type { LoadedSettings } from "../config-file/load.js";
import { effectiveSettings } from "../config-file/parse.js";

/** Values never printed: whoever reads the terminal or a pasted bug report is not meant to learn them. */
const SECRET_KEYS = new Set(["dashboard-token"]);

/**
 * `wsfleet config [--config file] [options]`: every setting in effect, and where it came from (default, file, flag,
 * environment), after the same validation as the fleet's start (a bad file or flag exits 2). Pure: it returns the text.
 */
export function showConfig(
  { settings, options }: { settings: LoadedSettings; options: Options },
  json: boolean,
): string {
  const rows = effectiveSettings(settings.raw, settings.sources, options.fleet.workers).map((row) => ({
    ...row,
    value: row.value !== undefined && SECRET_KEYS.has(row.key) ? "(hidden)" : row.value,
  }));
  if (json) {
    const table = Object.fromEntries(rows.map((row) => [row.key, { value: row.value ?? null, source: row.source }]));
    return `${JSON.stringify({ file: settings.file ?? null, settings: table }, null, 2)}\n`;
  }
  const lines = [["OPTION", "VALUE", "SOURCE"], ...rows.map((row) => [row.key, row.value ?? "-", row.source])];
  const widths = [0, 1].map((column) => Math.max(...lines.map((line) => line[column]?.length ?? 0)));
  const table = lines.map((line) =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join("  ")
      .trimEnd(),
  );
  const header = settings.file === undefined ? "no --config file" : `config file: ${settings.file}`;
  return `${header}\n${table.join("\n")}\n`;
}
