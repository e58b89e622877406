/**
 * RESULTS.md holds sections written by other programs than run.js (bench/broadcast.js), between
 * `<!-- NAME:start -->` and `<!-- NAME:end -->`; run.js carries them over when it rewrites the file.
 */
import { existsSync, readFileSync } from "node:fs";

const SECTION = /<!-- ([a-z-]+):start -->[\s\S]*?<!-- \1:end -->\n?/g;

/** `text` with the section `name` set to `body` (appended at the end when it is not there yet). */
export function withSection(text, name, body) {
  const section = `<!-- ${name}:start -->\n${body.trimEnd()}\n<!-- ${name}:end -->\n`;
  const pattern = new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->\\n?`);
  return pattern.test(text) ? text.replace(pattern, section) : `${text.trimEnd()}\n\n${section}`;
}

/** The sections of the file at `path` (none if it does not exist), appended to freshly rendered `text`. */
export function keepSections(path, text) {
  const old = existsSync(path) ? readFileSync(path, "utf8") : "";
  const sections = old.match(SECTION) ?? [];
  return sections.length === 0 ? text : `${text.trimEnd()}\n\n${sections.join("\n")}`;
}
