import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { WsfleetError } from "../errors.js";

/**
 * A primary's private runtime directory, `$TMPDIR/wsfleet-<pid>-XXXXXX` (or in `--runtime-dir`, systemd's
 * RuntimeDirectory=; mode 700 from mkdtemp): its pid for
 * `wsfleet reload`, its control socket for `wsfleet status`, and with --haproxy the config and runtime API socket.
 * The pid in the name lets the orphan guard find and remove it after a SIGKILL, even one before it was told of it.
 */
const RUNTIME_DIR_PREFIX = "wsfleet-";

/** Where this primary's runtime directory goes: the orphan guard removes whatever starts with this. */
export function runtimeDirPrefix(pid: number, tmpDir = os.tmpdir()): string {
  return path.join(tmpDir, `${RUNTIME_DIR_PREFIX}${pid}-`);
}
const PRIMARY_PID_FILE = "primary.pid";
export const CONTROL_SOCKET = "control.sock";
/** The embedded bus's hub, which every built-in worker connects to (WSFLEET_BUS). */
export const BUS_SOCKET = "bus.sock";

/**
 * `mkdir -p` one level at a time. Node 20's `mkdir(dir, { recursive: true })` never settles when mkdir keeps failing
 * with ENOENT under a parent that exists (found by test/chaos: TMPDIR=/proc/x hung the primary at start).
 */
async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (
    let each = dir;
    !(await stat(each).then(
      () => true,
      () => false,
    ));
    each = path.dirname(each)
  ) {
    missing.unshift(each);
    if (path.dirname(each) === each) break;
  }
  for (const each of missing) {
    await mkdir(each, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "EEXIST") throw error;
    });
  }
}

export async function createRuntimeDir(prefix: string): Promise<string> {
  const parent = path.dirname(prefix);
  const dir = await makeDirs(parent)
    .then(() => mkdtemp(prefix))
    .catch((error: NodeJS.ErrnoException) => {
      throw new WsfleetError(
        "WSFLEET_RUNTIME_DIR",
        `cannot create the runtime directory in ${parent} (${error.code ?? error.message}); choose a directory this user may write with --runtime-dir`,
      );
    });
  await writeFile(path.join(dir, PRIMARY_PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  // Removed on every exit of the primary but SIGKILL (a stale dir names a dead pid, which the lookups skip).
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A live process whose command line is a wsfleet primary (a stale pid file may name a reused pid). */
export async function isPrimary(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return isPrimaryCommandLine(cmdline.split("\0").filter(Boolean));
}

/**
 * Whether node runs wsfleet's entry point: the script (the first argument after node's own options) is
 * `…/primary.js` or the `wsfleet` bin. Not any command line with "wsfleet" in it: a checkout is usually called that,
 * and then every test and editor process in it would pass.
 */
export function isPrimaryCommandLine(argv: readonly string[]): boolean {
  const script = argv.slice(1).find((arg) => !arg.startsWith("-")) ?? "";
  return /(^|\/)(primary\.js|wsfleet)$/.test(script);
}

export interface RunningPrimary {
  pid: number;
  dir: string;
}

/** This user's running primaries, from <tmpDir>/wsfleet-<pid>-XXXXXX/primary.pid ($TMPDIR or --runtime-dir). */
export async function findPrimaries(tmpDir = os.tmpdir()): Promise<RunningPrimary[]> {
  const entries = await readdir(tmpDir).catch(() => [] as string[]);
  const found: RunningPrimary[] = [];
  for (const entry of entries.filter((name) => name.startsWith(RUNTIME_DIR_PREFIX))) {
    const dir = path.join(tmpDir, entry);
    const text = await readFile(path.join(dir, PRIMARY_PID_FILE), "utf8").catch(() => "");
    const pid = Number(text.trim());
    if (Number.isSafeInteger(pid) && pid > 1 && (await isPrimary(pid))) found.push({ pid, dir });
  }
  return found;
}
