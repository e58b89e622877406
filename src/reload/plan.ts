/**
 * What `wsfleet reload` (SIGHUP) does with a changed config file, decided before anything is touched: each changed
 * setting is applied with the least disruption it allows (the worker count scales, a worker-level setting rolls the
 * workers, an HAProxy setting reloads HAProxy seamlessly), and a change a running fleet cannot take refuses the whole reload, naming the setting and why. Pure.
 */
import { SETTINGS, type SettingName } from "../config/settings.js";
import type { EffectiveSetting } from "../config-file/parse.js";

/** How a changed setting reaches the running fleet. */
type Effect =
  | { readonly how: "scale" }
  | { readonly how: "roll" }
  | { readonly how: "haproxy" }
  | { readonly how: "refuse"; readonly why: string };

const SCALE: Effect = { how: "scale" };
/** New workers read it: a rolling restart, one worker at a time, each replacement RUNNING before the next. */
const ROLL: Effect = { how: "roll" };
/** HAProxy's seamless reload: a new haproxy with the new config takes the listening sockets, the old one finishes. */
const HAPROXY: Effect = { how: "haproxy" };
const refuse = (why: string): Effect => ({ how: "refuse", why });

const AT_START = "is read once, at start";

/** What a change of each setting costs; a setting not listed is read once at start. */
const EFFECTS: Partial<Record<SettingName, Effect>> = {
  workers: SCALE,
  app: ROLL,
  exec: ROLL,
  maxPayload: ROLL,
  idleTimeout: ROLL,
  maxBackpressure: ROLL,
  compression: ROLL,
  drainTimeout: ROLL,
  drainSpread: ROLL,
  trustProxy: ROLL,
  allowedOrigins: ROLL,
  requireOrigin: ROLL,
  maxConnections: ROLL,
  maxConnsPerIp: refuse("sets up the per-address limits at start: HAProxy's stick table, or the primary's ledger"),
  handshakeRate: refuse("sets up the per-address limits at start: HAProxy's stick table, or the primary's ledger"),
  history: refuse(
    "is the hub's history, made at start: turning it on, off or resizing it means a new sequencer, new epochs and every client resyncing (restart the fleet)",
  ),
  historyTtl: refuse("is the hub's history, made at start"),
  name: refuse("names every worker (<name>_NN) and HAProxy's servers, and the broker's channel"),
  host: refuse("is where the workers are bound and HAProxy reaches them"),
  basePort: refuse("gives every worker its port, bound at start"),
  sharedPort: refuse("is the port every worker has bound"),
  haproxy: refuse("decides at start whether HAProxy runs in front"),
  haproxyBin: HAPROXY,
  frontendHost: HAPROXY,
  frontendPort: HAPROXY,
  haproxyStats: HAPROXY,
  tunnelTimeout: HAPROXY,
  startSecs: refuse("is Supervisor's setting of each worker slot, set when the slot is made"),
  startRetries: refuse("is Supervisor's setting of each worker slot, set when the slot is made"),
  stopTimeout: refuse("is Supervisor's setting of each worker slot, set when the slot is made"),
  tlsCert: refuse(
    "names the files checked at start; for a renewed certificate at the same path use wsfleet reload-cert",
  ),
  tlsKey: refuse(
    "names the files checked at start; for a renewed certificate at the same path use wsfleet reload-cert",
  ),
};

/** One setting whose value the reload changes, and how. */
export interface SettingChange {
  readonly key: string;
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly how: "scale" | "roll" | "haproxy";
}

export interface ReloadPlan {
  /** The changes to apply; empty when the file changed nothing. */
  readonly changes: readonly SettingChange[];
  /** Why the reload is refused, one reason a setting; when any, nothing is applied. */
  readonly refused: readonly string[];
  /** The new worker count, when it changed. */
  readonly scaleTo: number | undefined;
  /** Whether the workers are rolled so their replacements run with the new settings. */
  readonly rollWorkers: boolean;
  /** Whether HAProxy is reloaded (seamlessly) with a new config. */
  readonly reloadHaproxy: boolean;
}

function shown(value: string | undefined): string {
  return value === undefined ? "(none)" : JSON.stringify(value);
}

/** "workers 3 → 5 (scale)": a change as the log, `wsfleet reload` and `wsfleet status` say it. */
export function describeChange(change: SettingChange): string {
  const how = { scale: "scaled", roll: "workers rolled", haproxy: "haproxy reloaded" }[change.how];
  return `${change.key} ${shown(change.from)} → ${shown(change.to)} (${how})`;
}

/** Whether two values of a setting are one value once parsed ("1" and "1.0" seconds, "64KiB" and "65536"). */
function sameValue(name: SettingName, a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  const { parse } = SETTINGS[name] as { parse?: (value: string, option: string) => unknown };
  if (a === undefined || b === undefined || !parse) return false;
  try {
    return JSON.stringify(parse(a, name)) === JSON.stringify(parse(b, name));
  } catch {
    return false;
  }
}

/**
 * Compares the settings in effect now with those of the re-read file (both validated). Changing between --app and
 * --exec is refused: built-in workers and --exec programs are told ready in different ways, and only the former
 * have the bus.
 */
export function planReload(before: readonly EffectiveSetting[], after: readonly EffectiveSetting[]): ReloadPlan {
  const changes: SettingChange[] = [];
  const refused: string[] = [];
  const afterByName = new Map(after.map((setting) => [setting.name, setting]));
  let scaleTo: number | undefined;
  for (const old of before) {
    const next = afterByName.get(old.name);
    if (!next || old.name === "config" || sameValue(old.name, old.value, next.value)) continue;
    const effect = EFFECTS[old.name] ?? refuse(AT_START);
    if (effect.how === "refuse") {
      refused.push(`${old.key} ${shown(old.value)} → ${shown(next.value)} ${effect.why}`);
      continue;
    }
    if (effect.how === "scale") scaleTo = Number(next.value);
    changes.push(Object.freeze({ key: old.key, from: old.value, to: next.value, how: effect.how }));
  }
  const isBuiltin = (settings: readonly EffectiveSetting[]) =>
    settings.find((each) => each.name === "exec")?.value === undefined;
  if (isBuiltin(before) !== isBuiltin(after)) {
    refused.push(`exec: the choice between the built-in worker and an --exec program ${AT_START}`);
  }
  return Object.freeze({
    changes: refused.length > 0 ? [] : changes,
    refused,
    scaleTo: refused.length > 0 ? undefined : scaleTo,
    rollWorkers: refused.length === 0 && changes.some((change) => change.how === "roll"),
    reloadHaproxy: refused.length === 0 && changes.some((change) => change.how === "haproxy"),
  });
}
