import path from "node:path";
import { longFlag, type RawOptions, SETTINGS, settingsFor } from "../config/settings.js";
import type { OptionDefaults } from "../config/validate.js";
import { type LoadedSettings, validateLoaded } from "../config-file/load.js";
import { invalidOption } from "../errors.js";
import { DEFAULT_MAXCONN } from "../haproxy/model.js";
import { isUnderHome, renderUnit } from "./unit-file.js";

/** Where the primary's runtime directory goes under systemd: RuntimeDirectory=wsfleet. */
const DEFAULT_RUNTIME_DIR = "/run/wsfleet";
/** Seconds systemd waits on top of the fleet's own stop before its SIGKILL. */
const STOP_MARGIN_SECS = 5;
/** PrivateTmp=yes gives the service its own /tmp: nothing it needs may live in the host's. */
const PRIVATE_TMP = ["/tmp/", "/var/tmp/"];

/** Where this wsfleet runs from: the unit names them by absolute path. */
export interface UnitPaths {
  readonly nodePath: string;
  readonly scriptPath: string;
  readonly cwd: string;
}

/** Values that name a file: absolute in the unit, whose working directory is another. */
const PATH_SETTINGS = new Set(["app", "config"]);

/**
 * The options the user gave on the command line, back as words for ExecStart (--app and --config made absolute,
 * --runtime-dir left to the caller); what a --config file holds stays in the file.
 */
function fleetArguments(raw: RawOptions, cwd: string): string[] {
  const words: string[] = [];
  for (const [name, entry] of settingsFor("run")) {
    const value = raw[name];
    if (value === undefined || value === false || name === "runtimeDir") continue;
    words.push(longFlag(entry));
    if (typeof value === "string") words.push(PATH_SETTINGS.has(name) ? path.resolve(cwd, value.trim()) : value);
  }
  return words;
}

/** The RuntimeDirectory= for --runtime-dir: a directory under /run, which systemd creates for the unit. */
function runtimeDirectoryName(runtimeDir: string): string {
  const relative = path.relative("/run", path.resolve("/", runtimeDir));
  if (!path.isAbsolute(runtimeDir) || relative === "" || relative.startsWith("..")) {
    throw invalidOption(
      "--runtime-dir",
      runtimeDir,
      `a directory under /run that systemd creates for the unit (RuntimeDirectory=), for example --runtime-dir ${DEFAULT_RUNTIME_DIR}`,
    );
  }
  return relative;
}

/**
 * `wsfleet systemd-unit [--config file] [fleet options]`: a unit that runs the fleet those options describe. With
 * --config, ExecReload= is `wsfleet reload`, so `systemctl reload` fails, naming the reason, on a refused file.
 */
export function systemdUnitText(settings: LoadedSettings, defaults: OptionDefaults, paths: UnitPaths): string {
  const { flags: raw } = settings;
  const options = validateLoaded(settings, defaults);
  const runtimeDir = options.runtimeDir ?? DEFAULT_RUNTIME_DIR;
  const runtimeDirectory = runtimeDirectoryName(runtimeDir);
  const user = raw.user === undefined ? undefined : SETTINGS.user.parse(raw.user, longFlag(SETTINGS.user));
  const { fleet, supervision, haproxy } = options;
  // An --exec command runs in the directory the unit is written from ("python3 app.py"); the rest needs none.
  const workingDirectory = fleet.worker.kind === "exec" ? paths.cwd : "/";
  const app = fleet.worker.kind === "builtin" && fleet.worker.app ? [path.resolve(paths.cwd, fleet.worker.app)] : [];
  const needed = [
    paths.nodePath,
    paths.scriptPath,
    workingDirectory,
    ...app,
    ...(settings.file ? [settings.file] : []),
  ];
  const inTmp = needed.find((each) => PRIVATE_TMP.some((dir) => `${each}/`.startsWith(dir)));
  if (inTmp !== undefined) {
    throw invalidOption(
      "systemd-unit",
      inTmp,
      "node, wsfleet, the --config file and the working directory outside /tmp, which the unit's PrivateTmp=yes hides: install wsfleet with npm install -g, or run this from your app's directory",
    );
  }
  const stopMs =
    supervision.stopTimeoutMs + fleet.connections.drainTimeoutMs + (haproxy ? supervision.stopTimeoutMs : 0);
  const workers = settings.raw.workers === undefined ? "one worker per CPU" : `${fleet.workers} workers`;
  return renderUnit({
    description: `wsfleet ${fleet.name}: ${workers}${haproxy ? ", HAProxy in front" : ""}`,
    nodePath: paths.nodePath,
    scriptPath: paths.scriptPath,
    args: [...fleetArguments(raw, paths.cwd), "--runtime-dir", runtimeDir],
    reloadArgs: settings.file === undefined ? undefined : ["reload", "--runtime-dir", runtimeDir],
    runtimeDirectory,
    workingDirectory,
    user,
    timeoutStopSecs: Math.ceil(stopMs / 1000) + STOP_MARGIN_SECS,
    // HAProxy holds two descriptors per connection (client and server side), up to its frontend's maxconn; a worker
    // may hold every connection. Room for both, and never below the usual 65536.
    limitNofile: Math.max(65_536, 2 * DEFAULT_MAXCONN + 1024),
    readsHome: needed.some(isUnderHome),
  });
}
