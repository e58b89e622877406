import os from "node:os";
import { invalidOption, wsfleetError } from "../errors.js";
import { findPrimaries, isPrimary, type RunningPrimary } from "./find-primaries.js";

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
    throw wsfleetError(
      "noPrimary",
      runtimeDir,
      found.map((each) => each.pid),
    );
  }
  return found[0] as RunningPrimary;
}
