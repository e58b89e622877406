/** Who is told of every process group that starts and ends (the orphan guard), so none outlives the primary. */
export interface ProcessGroupWatcher {
  watch(pgid: number): void;
  unwatch(pgid: number): void;
}

/** Signals a whole process group (Supervisor's stopasgroup/killasgroup); a group that is gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Signals one process; one that is gone is fine. */
export function killProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}
