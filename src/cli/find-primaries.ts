import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PRIMARY_PID_FILE, RUNTIME_DIR_PREFIX } from "../protocol/control.js";

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
