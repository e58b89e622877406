import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { invalidOption, WsfleetError } from "../errors.js";
import { PRIMARY_PID_FILE, RUNTIME_DIR_PREFIX } from "../haproxy/balancer.js";

export interface RawReloadOptions {
  pid?: string;
}

/** A live process whose command line is a wsfleet primary (a stale pid file may name a reused pid). */
async function isPrimary(pid: number): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return /primary\.js|wsfleet/.test(cmdline);
}

/** The pids in this user's `--haproxy` runtime directories ($TMPDIR/wsfleet-XXXXXX/primary.pid) that are still primaries. */
export async function findPrimaries(tmpDir = os.tmpdir()): Promise<number[]> {
  const entries = await readdir(tmpDir).catch(() => [] as string[]);
  const pids: number[] = [];
  for (const entry of entries.filter((name) => name.startsWith(RUNTIME_DIR_PREFIX))) {
    const text = await readFile(path.join(tmpDir, entry, PRIMARY_PID_FILE), "utf8").catch(() => "");
    const pid = Number(text.trim());
    if (Number.isSafeInteger(pid) && pid > 1 && (await isPrimary(pid))) pids.push(pid);
  }
  return pids;
}

/** `wsfleet reload`: SIGHUP to the primary (rolling restart); returns what to print. */
export async function reloadPrimary(raw: RawReloadOptions): Promise<string> {
  let pid: number;
  if (raw.pid !== undefined) {
    pid = Number(raw.pid.trim());
    if (!/^\d+$/.test(raw.pid.trim()) || !(await isPrimary(pid))) {
      throw invalidOption("--pid", raw.pid, "the pid of a running wsfleet primary (it logs its pid when it starts)");
    }
  } else {
    const found = await findPrimaries();
    if (found.length !== 1) {
      throw new WsfleetError(
        "WSFLEET_RELOAD_FAILED",
        found.length === 0
          ? `no running --haproxy primary of this user found in ${os.tmpdir()}/${RUNTIME_DIR_PREFIX}*/${PRIMARY_PID_FILE}; pass --pid <pid>`
          : `${found.length} running primaries found (pids ${found.join(", ")}); choose one with --pid <pid>`,
      );
    }
    pid = found[0] as number;
  }
  process.kill(pid, "SIGHUP");
  return `sent SIGHUP to the wsfleet primary with pid ${pid}: rolling restart under way, see its log`;
}
