/**
 * What to do when a worker exits: pure, so the policy is tested without processes or clocks.
 *
 * Supervisor: an exit before the worker is RUNNING is a failed start → BACKOFF, retried after 1 s, 2 s, 3 s...
 * → FATAL after startretries. PM2: a crash after a good start restarts at once, repeated quick crashes back off
 * exponentially (×1.5 from 100 ms, capped at 15 s), and the count resets once a run stays up long enough.
 */

export interface RestartPolicy {
  readonly startRetries: number;
  /** Supervisor's BACKOFF step: the n-th failed start waits n × this. */
  readonly backoffStepMs: number;
  /** PM2's exp_backoff_restart_delay: the first delay once crashes repeat. */
  readonly crashDelayBaseMs: number;
  readonly crashDelayFactor: number;
  readonly crashDelayMaxMs: number;
  /** A run that lasted this long is healthy: it clears the quick-crash count (PM2 uses 30 s). */
  readonly stableUptimeMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({
  startRetries: 3,
  backoffStepMs: 1000,
  crashDelayBaseMs: 100,
  crashDelayFactor: 1.5,
  crashDelayMaxMs: 15_000,
  stableUptimeMs: 30_000,
});

/** The policy for a process under the user's supervision settings: only `--start-retries` is theirs to set. */
export function restartPolicyWith(supervision: { readonly startRetries: number }): RestartPolicy {
  return Object.freeze({ ...DEFAULT_RESTART_POLICY, startRetries: supervision.startRetries });
}

export interface RestartHistory {
  /** Failed starts in a row (exits before RUNNING). */
  readonly failedStarts: number;
  /** Crashes in a row after RUNNING, each within stableUptimeMs of its start. */
  readonly quickCrashes: number;
}

export const FRESH_HISTORY: RestartHistory = Object.freeze({ failedStarts: 0, quickCrashes: 0 });

export interface WorkerExit {
  /** Whether the worker had reached RUNNING before it exited. */
  readonly wasRunning: boolean;
  readonly uptimeMs: number;
}

export type RestartDecision =
  | { readonly action: "restart"; readonly delayMs: number; readonly history: RestartHistory; readonly reason: string }
  | { readonly action: "fatal"; readonly history: RestartHistory; readonly reason: string };

export function decideRestart(policy: RestartPolicy, history: RestartHistory, exit: WorkerExit): RestartDecision {
  if (!exit.wasRunning) {
    const failedStarts = history.failedStarts + 1;
    const next = { failedStarts, quickCrashes: history.quickCrashes };
    if (failedStarts > policy.startRetries) {
      return {
        action: "fatal",
        history: next,
        reason: `exited before it was running ${failedStarts} times in a row (start-retries ${policy.startRetries})`,
      };
    }
    return {
      action: "restart",
      delayMs: failedStarts * policy.backoffStepMs,
      history: next,
      reason: `failed start ${failedStarts} of ${policy.startRetries + 1}`,
    };
  }
  if (exit.uptimeMs >= policy.stableUptimeMs) {
    return {
      action: "restart",
      delayMs: 0,
      history: { failedStarts: 0, quickCrashes: 1 },
      reason: "exited after a stable run",
    };
  }
  const quickCrashes = history.quickCrashes + 1;
  return {
    action: "restart",
    delayMs: crashDelayMs(policy, quickCrashes),
    history: { failedStarts: 0, quickCrashes },
    reason: `exited after ${exit.uptimeMs} ms, quick crash ${quickCrashes} in a row`,
  };
}

/** The first crash restarts at once; from the second on: base, base × factor, ... capped. */
export function crashDelayMs(policy: RestartPolicy, quickCrashes: number): number {
  if (quickCrashes <= 1) return 0;
  const delay = policy.crashDelayBaseMs * policy.crashDelayFactor ** (quickCrashes - 2);
  return Math.min(Math.round(delay), policy.crashDelayMaxMs);
}
