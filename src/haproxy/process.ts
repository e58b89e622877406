import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { decideRestart, FRESH_HISTORY, type RestartHistory, type RestartPolicy } from "../fleet/restart-policy.js";
import type { Clock } from "../fleet/worker-handle.js";
import { readLines } from "../log/line-splitter.js";
import type { Logger } from "../log/logger.js";

export const HAPROXY_LOG_NAME = "haproxy";

export type HaproxyState = "STOPPED" | "STARTING" | "RUNNING" | "BACKOFF" | "STOPPING" | "FATAL";

/** `Server websocket/websockets-test_01 is DOWN, reason: ...` as HAProxy prints it in the foreground: pure. */
export function parseServerChange(line: string): { server: string; state: "UP" | "DOWN"; detail: string } | undefined {
  const match = /Server ([^/\s]+)\/(\S+) is (UP|DOWN)\b,?\s*(.*)$/.exec(line);
  if (!match?.[2] || !match[3]) return undefined;
  return { server: match[2], state: match[3] as "UP" | "DOWN", detail: match[4] ?? "" };
}

export interface HaproxyProcessDeps {
  bin: string;
  configPath: string;
  logger: Logger;
  clock: Clock;
  policy: RestartPolicy;
  /** Resolves true once this HAProxy answers on its runtime socket. */
  isAnswering(): Promise<boolean>;
  signalGroup(pgid: number, signal: NodeJS.Signals): void;
  /** The orphan guard: HAProxy's process group is SIGKILLed with the workers' if the primary dies. */
  onGroupStart(pgid: number): void;
  onGroupEnd(pgid: number): void;
  stopTimeoutMs: number;
}

/**
 * One supervised `haproxy` in the foreground (-db), in its own process group: RUNNING once its runtime API answers;
 * restarted with the workers' back-off if it dies (Supervisor's semantics again); emits "state" and "fatal".
 */
export class HaproxyProcess extends EventEmitter {
  private child: ChildProcess | undefined;
  private currentState: HaproxyState = "STOPPED";
  private history: RestartHistory = FRESH_HISTORY;
  private spawnedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopping: (() => void) | undefined;
  private lastOutput = "";
  restarts = 0;

  constructor(private readonly deps: HaproxyProcessDeps) {
    super();
  }

  get state(): HaproxyState {
    return this.currentState;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.child) return;
    const { logger } = this.deps;
    this.spawnedAtMs = this.deps.clock.now();
    // -db: foreground, no daemon, so we see its exit and its messages (server UP/DOWN) on stderr.
    const child = spawn(this.deps.bin, ["-f", this.deps.configPath, "-db"], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.setState("STARTING");
    if (child.pid !== undefined) this.deps.onGroupStart(child.pid);
    logger.event("info", "haproxy-spawned", `spawned: haproxy with pid ${child.pid} (${this.deps.configPath})`, {
      pid: child.pid,
    });
    this.pipeOutput(child, "stdout");
    this.pipeOutput(child, "stderr");
    child.once("error", (error) => {
      this.lastOutput = error.message;
      if (child.pid === undefined) this.onExit(child, null, null);
    });
    child.once("exit", (code, signal) => this.onExit(child, code, signal));
    void this.waitUntilAnswering(child);
  }

  /** Resolves once RUNNING; rejects if it goes FATAL first. */
  waitUntilRunning(): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (state: HaproxyState) => {
        if (state === "RUNNING") resolve();
        else if (state === "FATAL" || state === "STOPPED") reject(new Error(`haproxy is ${state}: ${this.lastOutput}`));
        else return;
        this.off("state", check);
      };
      this.on("state", check);
      check(this.currentState);
    });
  }

  /** SIGTERM (the workers have closed their connections by now), SIGKILL after the stop timeout. */
  stop(): Promise<void> {
    this.clearTimer();
    const child = this.child;
    if (!child?.pid) {
      this.setState("STOPPED");
      return Promise.resolve();
    }
    const pid = child.pid;
    this.setState("STOPPING");
    return new Promise((resolve) => {
      const killTimer = this.deps.clock.setTimeout(
        () => this.deps.signalGroup(pid, "SIGKILL"),
        this.deps.stopTimeoutMs,
      );
      this.stopping = () => {
        this.deps.clock.clearTimeout(killTimer);
        resolve();
      };
      this.deps.signalGroup(pid, "SIGTERM");
    });
  }

  kill(): void {
    this.clearTimer();
    if (this.child?.pid !== undefined) this.deps.signalGroup(this.child.pid, "SIGKILL");
  }

  private async waitUntilAnswering(child: ChildProcess): Promise<void> {
    while (this.child === child && this.currentState === "STARTING") {
      if (await this.deps.isAnswering()) {
        if (this.child !== child || this.currentState !== "STARTING") return;
        this.setState("RUNNING");
        this.deps.logger.event("info", "haproxy-running", `success: haproxy (pid ${child.pid}) is RUNNING`, {
          pid: child.pid,
        });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    const pid = child.pid;
    if (pid !== undefined) this.deps.onGroupEnd(pid);
    const how = signal ? `signal ${signal}` : `exit status ${code}`;
    const fields = { pid, code, signal };
    if (this.stopping) {
      const done = this.stopping;
      this.stopping = undefined;
      this.deps.logger.event("info", "haproxy-stopped", `stopped: haproxy (${how})`, fields);
      this.setState("STOPPED");
      done();
      return;
    }
    const wasRunning = this.currentState === "RUNNING";
    const decision = decideRestart(this.deps.policy, this.history, {
      wasRunning,
      uptimeMs: this.deps.clock.now() - this.spawnedAtMs,
    });
    this.history = decision.history;
    const output = this.lastOutput ? `; last output: ${JSON.stringify(this.lastOutput)}` : "";
    if (decision.action === "fatal") {
      this.deps.logger.event("error", "haproxy-fatal", `gave up: haproxy ${decision.reason}; last ${how}${output}`, {
        ...fields,
        lastOutput: this.lastOutput,
      });
      this.setState("FATAL");
      this.emit("fatal");
      return;
    }
    this.deps.logger.event(
      "error",
      "haproxy-exited",
      `exited: haproxy (${how}; not expected), ${decision.reason}; restarting in ${decision.delayMs} ms${output}`,
      { ...fields, delayMs: decision.delayMs },
    );
    this.restarts += 1;
    this.setState("BACKOFF");
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, decision.delayMs);
  }

  private pipeOutput(child: ChildProcess, stream: "stdout" | "stderr"): void {
    readLines(child[stream], (line) => {
      if (line.trim() === "") return;
      this.lastOutput = line;
      const change = parseServerChange(line);
      if (change) {
        this.deps.logger.event(
          change.state === "UP" ? "info" : "warn",
          "haproxy-server",
          `haproxy: ${change.server} is ${change.state}${change.detail ? `, ${change.detail}` : ""}`,
          { worker: change.server, state: change.state },
        );
        return;
      }
      this.deps.logger.workerLine(HAPROXY_LOG_NAME, stream, line);
    });
  }

  private setState(state: HaproxyState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.emit("state", state);
  }

  private clearTimer(): void {
    if (this.timer) this.deps.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
