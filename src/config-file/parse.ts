/**
 * `--config <file>`: a JSON object keyed by the long option names (`{"workers": 4, "base-port": 8000}`), read into
 * the same raw options the command line gives, each value checked by the settings table's own parser. Pure: the
 * caller reads the file (load.ts).
 */
import path from "node:path";
import {
  longFlag,
  type RawOptions,
  SETTINGS,
  type Setting,
  type SettingName,
  settingsFor,
} from "../config/settings.js";
import { wsfleetError } from "../errors.js";

/** Where an effective setting came from, as `wsfleet config` shows it. */
export type SettingSource = "default" | "file" | "flag" | "environment";

/** Values that name a file: relative ones are read from the config file's directory, as nginx and HAProxy do. */
const PATH_SETTINGS: ReadonlySet<SettingName> = new Set(["app", "tlsCert", "tlsKey"]);

/** The keys a file may hold: the long names of the main command's options ("base-port"), but `config` itself. */
function fileKeys(): Map<string, [SettingName, Setting]> {
  const keys = new Map<string, [SettingName, Setting]>();
  for (const [name, entry] of settingsFor("run")) {
    if (name !== "config") keys.set(longFlag(entry).slice(2), [name, entry]);
  }
  return keys;
}

/** Levenshtein distance, for "did you mean" on a misspelt key. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function unknownKeyFix(key: string, keys: readonly string[]): string {
  const [closest] = [...keys].sort((a, b) => distance(key, a) - distance(key, b));
  const near = closest !== undefined && distance(key, closest) <= 3 ? `did you mean "${closest}"? ` : "";
  return `${near}keys are the long option names without "--" (wsfleet --help), for example "workers", "base-port", "haproxy"`;
}

/** One value as the command line would have given it: a string, or true/false for a switch. */
function rawValue(file: string, key: string, entry: Setting, value: unknown): string | boolean {
  const problem = (expected: string) =>
    wsfleetError("configFileInvalid", file, `key "${key}" has ${JSON.stringify(value)}; expected ${expected}`);
  if (entry.isSwitch) {
    if (typeof value !== "boolean") throw problem(`true or false ("${key}": true is --${key})`);
    return value;
  }
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "string") return value;
  throw problem(`a string or a number, as you would type after --${key}`);
}

/**
 * The file's text as raw options; an unknown key, a value of the wrong type or one the option's parser refuses names
 * the file, the key, the value and the fix (WSFLEET_CONFIG_INVALID / WSFLEET_INVALID_OPTION, exit 2).
 */
export function parseConfigText(text: string, file: string): RawOptions {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw wsfleetError("configFileInvalid", file, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw wsfleetError("configFileInvalid", file, 'expected one JSON object of options, for example {"workers": 4}');
  }
  const keys = fileKeys();
  const raw: Record<string, string | boolean> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const known = keys.get(key);
    if (!known) {
      throw wsfleetError("configFileInvalid", file, `unknown key "${key}"; ${unknownKeyFix(key, [...keys.keys()])}`);
    }
    const [name, entry] = known;
    const given = rawValue(file, key, entry, value);
    // A switch set to false is a switch not given.
    if (given === false) continue;
    if (typeof given === "string") {
      // The table's own parser, naming the file and key instead of the flag.
      entry.parse?.(given, `"${key}" in ${file}`);
      raw[name] = PATH_SETTINGS.has(name) ? path.resolve(path.dirname(file), given.trim()) : given;
    } else raw[name] = given;
  }
  return raw as RawOptions;
}

/** The options in effect: the file's, with the command line's on top (flags win, as in gunicorn and PM2). */
export function mergeOptions(flags: RawOptions, file: RawOptions | undefined): RawOptions {
  const merged: Record<string, unknown> = { ...file };
  for (const [name, value] of Object.entries(flags)) if (value !== undefined) merged[name] = value;
  return merged as RawOptions;
}

/** Where each of the main command's settings came from. */
export function settingSources(
  flags: RawOptions,
  file: RawOptions | undefined,
  webConcurrency: string | undefined,
): Record<SettingName, SettingSource> {
  const sources: Partial<Record<SettingName, SettingSource>> = {};
  for (const [name] of settingsFor("run")) {
    if (flags[name] !== undefined) sources[name] = "flag";
    else if (file?.[name] !== undefined) sources[name] = "file";
    else if (name === "workers" && webConcurrency) sources[name] = "environment";
    else sources[name] = "default";
  }
  return sources as Record<SettingName, SettingSource>;
}

/**
 * A cross-option refusal of validateOptions names the flag ("invalid value for --app: …"); when the file gave that
 * value, it names the file and key instead.
 */
export function blameFile(message: string, sources: Record<SettingName, SettingSource>, file: string): string {
  const match = /^invalid value for --([a-z-]+):/.exec(message);
  const named = match?.[1] && fileKeys().get(match[1]);
  if (!named || sources[named[0]] !== "file") return message;
  return message.replace(`--${match[1]}`, `"${match[1]}" in ${file}`);
}

/** The long option name of a setting, as a file key and in `wsfleet config`'s table ("base-port"). */
function keyOf(name: SettingName): string {
  return longFlag(SETTINGS[name]).slice(2);
}

/** One line of `wsfleet config`: a setting's long name, its value in effect as it would be typed, and its source. */
export interface EffectiveSetting {
  readonly key: string;
  readonly name: SettingName;
  /** The value as typed (a switch: "true"/"false"); undefined when off and without a default. */
  readonly value: string | undefined;
  readonly source: SettingSource;
}

/** Every setting of the main command in table order, with the value in effect; `workers` is the validated count. */
export function effectiveSettings(
  raw: RawOptions,
  sources: Record<SettingName, SettingSource>,
  workers: number,
): EffectiveSetting[] {
  return settingsFor("run").map(([name, entry]) => {
    const given = raw[name];
    let value: string | undefined;
    if (name === "workers") value = String(workers);
    else if (entry.isSwitch) value = String(given === true);
    else value = typeof given === "string" ? given : entry.default;
    return Object.freeze({ key: keyOf(name), name, value, source: sources[name] });
  });
}
