/**
 * Supervisor's process states and the transitions it allows (supervisord.org "Process States"; supervisor/states.py).
 * A leaf module: it imports nothing, so anything may use it.
 */
export type ProcessState = "STOPPED" | "STARTING" | "RUNNING" | "BACKOFF" | "STOPPING" | "EXITED" | "FATAL";

/**
 * Where a process rests until told otherwise: up (RUNNING), given up (FATAL) or stopped. Supervisor's STOPPED_STATES
 * and RUNNING_STATES in one: what "the fleet has settled" waits for.
 */
export const SETTLED_STATES: readonly ProcessState[] = Object.freeze(["RUNNING", "FATAL", "STOPPED"]);

/** From each state, the states a process may enter next; anything else is a bug and is refused. */
export const TRANSITIONS: Readonly<Record<ProcessState, readonly ProcessState[]>> = Object.freeze({
  // start() from rest, or a restart after a deliberate stop (rolling restart, supervisorctl restart).
  STOPPED: ["STARTING"],
  // Up for startsecs → RUNNING; exits before → BACKOFF or FATAL; a stop while starting → STOPPING.
  STARTING: ["RUNNING", "BACKOFF", "FATAL", "STOPPING"],
  // An unexpected exit → EXITED (then restarted); a stop or replace → STOPPING.
  RUNNING: ["EXITED", "STOPPING"],
  // The back-off delay ends → STARTING; a stop meanwhile → STOPPED.
  BACKOFF: ["STARTING", "STOPPED"],
  STOPPING: ["STOPPED"],
  EXITED: ["STARTING", "STOPPED"],
  // Gave up; only an explicit start (supervisorctl start, a rolling restart) brings it back.
  FATAL: ["STARTING"],
});

export function canTransition(from: ProcessState, to: ProcessState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** A refused transition: the state machine has a bug, never a user's mistake. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: ProcessState,
    readonly to: ProcessState,
    readonly processName: string,
  ) {
    super(`${processName}: illegal state transition ${from} → ${to}`);
    this.name = "IllegalTransitionError";
  }
}
