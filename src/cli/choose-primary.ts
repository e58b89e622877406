import os from "node:os";
import { invalidOption, WsfleetError } from "../errors.js";
import { findPrimaries, isPrimary, type RunningPrimary } from "./runtime-dir.js";

/**
 * The primary a command is about: `--pid`, or the only running one of this user, found in `runtimeDir`
 * (--runtime-dir, else $TMPDIR). Used by reload and status.
 */
export async function choosePrimary(
  rawPid: string | undefined,
  runtimeDir: string = os.tmpdir(),
): Promise<RunningPrimary> {
  const found = await findPrimaries(runtimeDir);
  if (rawPid !== undefined) {
    const pid = Number(rawPid.trim());
    if (!/^\d+$/.test(rawPid.trim()) || !(await isPrimary(pid))) {
      throw invalidOption("--pid", rawPid, "the pid of a running wsfleet primary (it logs its pid when it starts)");
    }
    return found.find((primary) => primary.pid === pid) ?? { pid, dir: "" };
  }
  if (found.length !== 1) {
    throw new WsfleetError(
      "WSFLEET_NO_PRIMARY",
      found.length === 0
        ? `no running wsfleet primary of this user found (in ${runtimeDir}/wsfleet-*/primary.pid); pass --pid <pid>, or --runtime-dir <dir> for a primary started with one (a systemd unit: /run/wsfleet)`
        : `${found.length} running primaries found (pids ${found.map((each) => each.pid).join(", ")}); choose one with --pid <pid>`,
    );
  }
  return found[0] as RunningPrimary;
}
