import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { readLines } from "../log/line-splitter.js";
import type { LogFields, Logger } from "../log/logger.js";
import type { Counters } from "../worker/counters.js";
import { isWorkerMessage, type PrimaryToWorker } from "../worker/messages.js";
import {
  decideRestart,
  FRESH_HISTORY,
  type RestartHistory,
  type RestartPolicy,
  type WorkerExit,
} from "./restart-policy.js";
import type { Slot } from "./slot.js";

/** Supervisor's process states (supervisord.org, "Process States"). */
export type WorkerState = "STOPPED" | "STARTING" | "RUNNING" | "BACKOFF" | "STOPPING" | "EXITED" | "FATAL";

export interface Clock {
  now(): number;
  setTimeout(callback: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(timer: NodeJS.Timeout): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (timer) => clearTimeout(timer),
};

export interface WorkerHandleDeps {
  /** Starts the process for a slot in its own process group (detached), stdout/stderr piped. */
  spawn(slot: Slot): ChildProcess;
  /**
   * How the worker says it is listening: an IPC message (built-in), its port accepting a connection (--exec), or
   * nothing but staying up start-secs (--exec on a shared port, where any worker's socket answers the probe).
   */
  readiness: "ipc" | "probe" | "uptime";
  /** Resolves true once the slot is ready (probe readiness: its port accepts), false when `isCancelled` turns true. */
  probeReady(slot: Slot, isCancelled: () => boolean): Promise<boolean>;
  /** Prefix of the lifecycle event names ("haproxy-" for the supervised HAProxy). */
  eventPrefix?: string;
  /** Sees each output line first; true means it was handled (for example HAProxy's server UP/DOWN lines). */
  onOutputLine?(stream: "stdout" | "stderr", line: string): boolean;
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

export interface WorkerStatus {
  name: string;
  port: number;
  state: WorkerState;
  pid: number | undefined;
  restarts: number;
  startedAt: number | undefined;
  /** The latest counters the worker reported (built-in workers, once a second). */
  counters: Counters | undefined;
}

/** One slot's child process and its state machine: start, readiness, restart decisions, graceful stop. */
export class WorkerHandle extends EventEmitter {
  private child: ChildProcess | undefined;
  private currentState: WorkerState = "STOPPED";
  private history: RestartHistory = FRESH_HISTORY;
  private spawnedAtMs = 0;
  private listening = false;
  private timer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private lastOutput = "";
  private restartCount = 0;
  private counters: Counters | undefined;
  /** Set while a stop or a deliberate replace is under way, so the exit is not treated as a crash. */
  private stopping: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Set by stop(): the slot is being shut down and must not start again. */
  private retired = false;

  constructor(
    readonly slot: Slot,
    private readonly deps: WorkerHandleDeps,
  ) {
    super();
  }

  get state(): WorkerState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  status(): WorkerStatus {
    return {
      name: this.slot.processName,
      port: this.slot.port,
      state: this.currentState,
      pid: this.child?.pid,
      restarts: this.restartCount,
      startedAt: this.child ? this.spawnedAtMs : undefined,
      counters: this.counters,
    };
  }

  start(): void {
    if (this.child || this.retired) return;
    this.clearTimer();
    this.listening = false;
    this.lastOutput = "";
    this.spawnedAtMs = this.deps.clock.now();
    const child = this.deps.spawn(this.slot);
    this.child = child;
    this.setState("STARTING");
    if (child.pid !== undefined) this.deps.onGroupStart(child.pid);
    this.log("info", "spawned", `spawned: '${this.slot.processName}' with pid ${child.pid}`, {
      worker: this.slot.processName,
      pid: child.pid,
      port: this.slot.port,
    });
    this.pipeOutput(child, "stdout");
    this.pipeOutput(child, "stderr");
    child.on("message", (message: unknown) => {
      if (!isWorkerMessage(message)) return;
      if (message.type === "listening") this.onListening();
      if (message.type === "stats") this.counters = message.counters;
      if (message.type === "listen-failed") {
        this.lastOutput = `could not listen on ${message.host}:${message.port}`;
      }
    });
    child.once("error", (error) => {
      // spawn itself failed (for example the node binary vanished): report it like an exit.
      this.lastOutput = error.message;
      if (child.pid === undefined) this.onExit(child, null, null);
    });
    child.once("exit", (code, signal) => {
      // Whatever the leader left behind in its group goes with it (no orphans), which also lets 'close' come.
      if (child.pid !== undefined) this.deps.signalGroup(child.pid, "SIGKILL");
      // Decide on 'close', once the last output lines are read; a straggler outside the group can't hold us long.
      const fallback = setTimeout(() => this.onExit(child, code, signal), 1000);
      child.once("close", () => {
        clearTimeout(fallback);
        this.onExit(child, code, signal);
      });
    });
    this.counters = undefined;
    if (this.deps.readiness === "uptime") this.onListening();
    if (this.deps.readiness === "probe") {
      void this.deps
        .probeReady(this.slot, () => this.child !== child)
        .then((ok) => {
          if (ok && this.child === child) this.onListening();
        });
    }
  }

  /** Graceful stop: SIGTERM to the group (built-in workers close connections with 1001), SIGKILL after the timeout. */
  stop(): Promise<void> {
    this.retired = true;
    return this.terminate({ signal: "SIGTERM" });
  }

  /** Deliberate replacement (rolling restart): drain with `closeCode`, wait for the exit, start again, wait for RUNNING. */
  async replace(closeCode: number): Promise<void> {
    await this.terminate({ drain: { type: "drain", closeCode } });
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
  waitFor(wanted: WorkerState[], failed: WorkerState[] = []): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (state: WorkerState) => {
        if (wanted.includes(state)) {
          this.off("state", check);
          resolve();
        } else if (failed.includes(state)) {
          this.off("state", check);
          reject(new Error(`${this.slot.processName} is ${state}`));
        }
      };
      this.on("state", check);
      check(this.currentState);
    });
  }

  private terminate(how: { signal?: NodeJS.Signals; drain?: PrimaryToWorker }): Promise<void> {
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
    if (how.drain && child.connected) child.send(how.drain);
    else this.deps.signalGroup(pid, how.signal ?? "SIGTERM");
    // Supervisor: stopwaitsecs, then SIGKILL.
    this.killTimer = this.deps.clock.setTimeout(() => {
      this.log(
        "warn",
        "killed",
        `killing '${this.slot.processName}' (pid ${pid}) with SIGKILL: still running after ${this.deps.stopTimeoutMs} ms`,
        { worker: this.slot.processName, pid },
      );
      this.deps.signalGroup(pid, "SIGKILL");
    }, this.deps.stopTimeoutMs);
    return done;
  }

  private onListening(): void {
    if (this.listening || this.currentState !== "STARTING") return;
    this.listening = true;
    const { startSecs, clock } = this.deps;
    const remainingMs = Math.max(0, startSecs * 1000 - (clock.now() - this.spawnedAtMs));
    this.timer = clock.setTimeout(() => {
      this.timer = undefined;
      if (this.currentState !== "STARTING") return;
      this.setState("RUNNING");
      this.log(
        "info",
        "running",
        `success: ${this.slot.processName} entered RUNNING state, listening on port ${this.slot.port} and up for ${startSecs} s (start-secs)`,
        { worker: this.slot.processName, pid: this.child?.pid, port: this.slot.port },
      );
    }, remainingMs);
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
    const fields = { worker: this.slot.processName, pid, code, signal, uptimeMs };
    if (this.stopping) {
      const { resolve } = this.stopping;
      this.stopping = undefined;
      this.log("info", "stopped", `stopped: ${this.slot.processName} (${how})`, fields);
      this.setState("STOPPED");
      resolve();
      return;
    }
    const exit: WorkerExit = { wasRunning, uptimeMs };
    const decision = decideRestart(this.deps.policy, this.history, exit);
    this.history = decision.history;
    const output = this.lastOutput ? `; last output: ${JSON.stringify(this.lastOutput)}` : "";
    if (decision.action === "fatal") {
      this.log(
        "error",
        "fatal",
        `gave up: ${this.slot.processName} entered FATAL state, ${decision.reason}; last ${how}${output}`,
        { ...fields, reason: decision.reason, lastOutput: this.lastOutput },
      );
      this.setState("FATAL");
      return;
    }
    this.log(
      wasRunning ? "warn" : "error",
      "exited",
      `exited: ${this.slot.processName} (${how}; not expected), ${decision.reason}; restarting in ${decision.delayMs} ms${wasRunning ? "" : output}`,
      { ...fields, delayMs: decision.delayMs, reason: decision.reason },
    );
    this.restartCount += 1;
    if (!wasRunning) this.setState("BACKOFF");
    else this.setState("EXITED");
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, decision.delayMs);
  }

  private pipeOutput(child: ChildProcess, stream: "stdout" | "stderr"): void {
    readLines(child[stream], (line) => {
      if (line.trim() !== "") this.lastOutput = line;
      if (this.deps.onOutputLine?.(stream, line)) return;
      this.deps.logger.workerLine(this.slot.processName, stream, line);
    });
  }

  private log(level: "info" | "warn" | "error", event: string, message: string, fields: LogFields): void {
    this.deps.logger.event(level, `${this.deps.eventPrefix ?? ""}${event}`, message, fields);
  }

  private setState(state: WorkerState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit("state", state);
  }

  private clearTimer(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
