import { rmSync } from "node:fs";
import { mkdir, mkdtemp, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { wsfleetError } from "../errors.js";
import { PRIMARY_PID_FILE, RUNTIME_DIR_PREFIX } from "../protocol/control.js";

/**
 * A primary's private runtime directory, `$TMPDIR/wsfleet-<pid>-XXXXXX` (or in `--runtime-dir`, systemd's
 * RuntimeDirectory=; mode 700 from mkdtemp): its pid for `wsfleet reload`, its control socket for `wsfleet status`,
 * and with --haproxy the config and runtime API socket. The pid in the name lets the orphan guard find and remove it
 * after a SIGKILL, even one before it was told of it.
 */
export function runtimeDirPrefix(pid: number, tmpDir = os.tmpdir()): string {
  return path.join(tmpDir, `${RUNTIME_DIR_PREFIX}${pid}-`);
}

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
      throw wsfleetError("runtimeDirUnwritable", parent, error.code ?? error.message);
    });
  await writeFile(path.join(dir, PRIMARY_PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  // Removed on every exit of the primary but SIGKILL (a stale dir names a dead pid, which the lookups skip).
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
