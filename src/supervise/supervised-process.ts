import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { readLines } from "../log/line-splitter.js";
import type { LogFields, Logger } from "../log/logger.js";
import type { Clock } from "./clock.js";
import { decideRestart, FRESH_HISTORY, type RestartHistory, type RestartPolicy } from "./restart-policy.js";
import { canTransition, IllegalTransitionError, type ProcessState } from "./states.js";

/** After an exit, how long the last output may take to be read ('close') before the exit is decided without it. */
const CLOSE_WAIT_MS = 1000;

export interface SupervisedProcessDeps {
  /** Starts the process in its own process group (detached), stdout/stderr piped. */
  spawn(): ChildProcess;
  /**
   * "uptime": ready as soon as it is spawned, RUNNING after start-secs. "signal": ready once the owner calls
   * `ready(child)` (an IPC message, a port that answers), then RUNNING once start-secs have passed since the spawn.
   */
  readiness: "uptime" | "signal";
  /** Called with each new child, so its owner can listen to it (IPC) or probe it; `isCurrent` turns false once it is gone. */
  onSpawn?(child: ChildProcess, isCurrent: () => boolean): void;
  /** Sees each output line first; true means it was handled (for example HAProxy's server UP/DOWN lines). */
  onOutputLine?(stream: "stdout" | "stderr", line: string): boolean;
  /** Prefix of the lifecycle event names ("haproxy-" for the supervised HAProxy). */
  eventPrefix?: string;
  /** What RUNNING means for this process, in the log: "listening on port 8000". */
  readyDetail?: string;
  /** Fields added to every lifecycle event (a worker's port). */
  fields?: LogFields;
  logger: Logger;
  policy: RestartPolicy;
  startSecs: number;
  stopTimeoutMs: number;
  clock: Clock;
  /** Signals a process group; killGroup in production, a recorder in tests. */
  signalGroup(pgid: number, signal: NodeJS.Signals): void;
  /** Called with a process group id when it starts and when it is gone (the orphan guard). */
  onGroupStart(pgid: number): void;
  onGroupEnd(pgid: number): void;
}

export interface ProcessStatus {
  name: string;
  state: ProcessState;
  pid: number | undefined;
  restarts: number;
  startedAt: number | undefined;
}

/**
 * One program under supervision, Supervisor's way: start, readiness, restart decisions with back-off, FATAL, a
 * graceful stop with SIGKILL after the stop timeout. It knows nothing of what the program is: IPC, probes and output
 * reach their owner through the hooks in its deps. Emits "state" with each new ProcessState.
 */
export class SupervisedProcess extends EventEmitter {
  private child: ChildProcess | undefined;
  private currentState: ProcessState = "STOPPED";
  private history: RestartHistory = FRESH_HISTORY;
  private spawnedAtMs = 0;
  private isReady = false;
  private timer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lastOutput = "";
  private restartCount = 0;
  /** Set while a stop or a deliberate replace is under way, so the exit is not treated as a crash. */
  private stopping: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set by stop(): the process is being shut down and must not start again. */
  private retired = false;

  constructor(
    readonly name: string,
    private readonly deps: SupervisedProcessDeps,
  ) {
    super();
  }

  get state(): ProcessState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  status(): ProcessStatus {
    return {
      name: this.name,
      state: this.currentState,
      pid: this.child?.pid,
      restarts: this.restartCount,
      startedAt: this.child ? this.spawnedAtMs : undefined,
    };
  }

  start(): void {
    if (this.child || this.retired) return;
    this.clearTimer();
    this.isReady = false;
    this.lastOutput = "";
    this.spawnedAtMs = this.deps.clock.now();
    const child = this.deps.spawn();
    this.child = child;
    this.setState("STARTING");
    if (child.pid !== undefined) this.deps.onGroupStart(child.pid);
    this.log("info", "spawned", `spawned: '${this.name}' with pid ${child.pid}`, { pid: child.pid });
    this.pipeOutput(child, "stdout");
    this.pipeOutput(child, "stderr");
    child.once("error", (error) => {
      // spawn itself failed (for example the node binary vanished): report it like an exit.
      this.lastOutput = error.message;
      if (child.pid === undefined) this.onExit(child, null, null);
    });
    child.once("exit", (code, signal) => {
      // Whatever the leader left behind in its group goes with it (no orphans), which also lets 'close' come.
      if (child.pid !== undefined) this.deps.signalGroup(child.pid, "SIGKILL");
      // Decide on 'close', once the last output lines are read; a straggler outside the group can't hold us long.
      const { clock } = this.deps;
      const fallback = clock.setTimeout(() => this.onExit(child, code, signal), CLOSE_WAIT_MS);
      child.once("close", () => {
        clock.clearTimeout(fallback);
        this.onExit(child, code, signal);
      });
    });
    this.deps.onSpawn?.(child, () => this.child === child);
    if (this.deps.readiness === "uptime") this.ready(child);
  }

  /** The owner's word that `child` is ready (listening); RUNNING follows once start-secs have passed. */
  ready(child: ChildProcess): void {
    if (this.child !== child || this.isReady || this.currentState !== "STARTING") return;
    this.isReady = true;
    const { startSecs, clock } = this.deps;
    const remainingMs = Math.max(0, startSecs * 1000 - (clock.now() - this.spawnedAtMs));
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (this.currentState !== "STARTING") return;
      this.setState("RUNNING");
      const detail = this.deps.readyDetail ? `${this.deps.readyDetail} and ` : "";
      this.log(
        "info",
        "running",
        `success: ${this.name} entered RUNNING state, ${detail}up for ${startSecs} s (start-secs)`,
        { pid: this.child?.pid },
      );
    }, remainingMs);
  }

  /** The line shown with a failed start when the process itself printed nothing useful. */
  explainExit(text: string): void {
    this.lastOutput = text;
  }

  /**
   * Graceful stop: SIGTERM to the group (or `askToStop`'s own way, an IPC order), SIGKILL after the stop timeout.
   * The process does not start again.
   */
  stop(askToStop?: (child: ChildProcess) => boolean): Promise<void> {
    this.retired = true;
    return this.terminate(askToStop);
  }

  /**
   * Asks the process to finish in its own time with `signal` (HAProxy's soft stop: SIGUSR1 closes its listeners and
   * waits for its connections), SIGKILL after `killAfterMs`. Its exit is a stop, not a crash; it does not start again.
   */
  finish(signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
    this.retired = true;
    return this.terminate((child) => {
      if (child.pid === undefined) return false;
      this.deps.signalGroup(child.pid, signal);
      return true;
    }, killAfterMs);
  }

  /**
   * Deliberate replacement (rolling restart): stop it, start it again, resolve once RUNNING. `askToStop` may ask the
   * child to stop in its own way (an IPC drain order) and returns false when it could not, so SIGTERM is sent.
   */
  async replace(askToStop?: (child: ChildProcess) => boolean): Promise<void> {
    await this.terminate(askToStop);
    this.history = FRESH_HISTORY;
    this.restartCount += 1;
    this.start();
    await this.waitFor(["RUNNING"], ["FATAL", "STOPPED"]);
  }

  /** Immediate SIGKILL of the whole group (second Ctrl-C). */
  kill(): void {
    this.clearTimer();
    if (this.child?.pid !== undefined) this.deps.signalGroup(this.child.pid, "SIGKILL");
  }

  /** Resolves when the state is one of `wanted`, rejects when it is one of `failed`. */
  waitFor(wanted: readonly ProcessState[], failed: readonly ProcessState[] = []): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (state: ProcessState) => {
        if (wanted.includes(state)) {
          this.off("state", check);
          resolve();
        } else if (failed.includes(state)) {
          this.off("state", check);
          reject(new Error(`${this.name} is ${state}`));
        }
      };
      this.on("state", check);
      check(this.currentState);
    });
  }

  private terminate(
    askToStop: ((child: ChildProcess) => boolean) | undefined,
    killAfterMs = this.deps.stopTimeoutMs,
  ): Promise<void> {
    this.clearTimer();
    if (this.stopping) return this.stopping.promise;
    const child = this.child;
    if (!child || child.pid === undefined) {
      if (this.currentState !== "FATAL") this.setState("STOPPED");
      return Promise.resolve();
    }
    const pid = child.pid;
    this.setState("STOPPING");
    let resolve = () => {};
    const done = new Promise<void>((settle) => {
      resolve = settle;
    });
    this.stopping = { promise: done, resolve };
    if (!askToStop?.(child)) this.deps.signalGroup(pid, "SIGTERM");
    // Supervisor: stopwaitsecs, then SIGKILL.
    this.killTimer = this.deps.clock.setTimeout(() => {
      this.log(
        "warn",
        "killed",
        `killing '${this.name}' (pid ${pid}) with SIGKILL: still running after ${killAfterMs} ms`,
        { pid },
      );
      this.deps.signalGroup(pid, "SIGKILL");
    }, killAfterMs);
    return done;
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    const pid = child.pid;
    this.child = undefined;
    this.clearTimer();
    if (this.killTimer) this.deps.clock.clearTimeout(this.killTimer);
    this.killTimer = undefined;
    if (pid !== undefined) this.deps.onGroupEnd(pid);
    const how = signal ? `signal ${signal}` : `exit status ${code}`;
    const wasRunning = this.currentState === "RUNNING";
    const uptimeMs = this.deps.clock.now() - this.spawnedAtMs;
    const fields = { pid, code, signal, uptimeMs };
    if (this.stopping) {
      const { resolve } = this.stopping;
      this.stopping = undefined;
      this.log("info", "stopped", `stopped: ${this.name} (${how})`, fields);
      this.setState("STOPPED");
      resolve();
      return;
    }
    const decision = decideRestart(this.deps.policy, this.history, { wasRunning, uptimeMs });
    this.history = decision.history;
    const output = this.lastOutput ? `; last output: ${JSON.stringify(this.lastOutput)}` : "";
    if (decision.action === "fatal") {
      this.log(
        "error",
        "fatal",
        `gave up: ${this.name} entered FATAL state, ${decision.reason}; last ${how}${output}`,
        { ...fields, reason: decision.reason, lastOutput: this.lastOutput },
      );
      this.setState("FATAL");
      return;
    }
    this.log(
      wasRunning ? "warn" : "error",
      "exited",
      `exited: ${this.name} (${how}; not expected), ${decision.reason}; restarting in ${decision.delayMs} ms${wasRunning ? "" : output}`,
      { ...fields, delayMs: decision.delayMs, reason: decision.reason },
    );
    this.restartCount += 1;
    this.setState(wasRunning ? "EXITED" : "BACKOFF");
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, decision.delayMs);
  }

  private pipeOutput(child: ChildProcess, stream: "stdout" | "stderr"): void {
    readLines(child[stream], (line) => {
      if (line.trim() !== "") this.lastOutput = line;
      if (this.deps.onOutputLine?.(stream, line)) return;
      this.deps.logger.workerLine(this.name, stream, line);
    });
  }

  private log(level: "info" | "warn" | "error", event: string, message: string, fields: LogFields): void {
    this.deps.logger.event(level, `${this.deps.eventPrefix ?? ""}${event}`, message, {
      worker: this.name,
      ...this.deps.fields,
      ...fields,
    });
  }

  /** Refuses a transition Supervisor does not allow, as its states.py does: a bug, never taken silently. */
  private setState(state: ProcessState): void {
    if (state === this.currentState) return;
    if (!canTransition(this.currentState, state)) throw new IllegalTransitionError(this.currentState, state, this.name);
    this.currentState = state;
    this.emit("state", state);
  }

  private clearTimer(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
