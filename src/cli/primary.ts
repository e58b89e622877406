import type { EventEmitter } from "node:events";
import type { Logger } from "../log/logger.js";

/** What the primary runs: the fleet, and HAProxy in front when --haproxy is given. */
export interface PrimaryParts {
  fleet: {
    readonly size: number;
    stop(): Promise<void>;
    kill(): void;
    rollingRestart(): Promise<void>;
    addWorker(): Promise<void>;
    removeWorker(): Promise<void>;
    scaleTo(count: number): Promise<void>;
    restartWorker(name: string): Promise<boolean>;
  };
  balancer?: { stop(): Promise<void>; kill(): void } | undefined;
  /** The orphan guard: closed last, once every process it watches is gone. */
  guard: { close(): void };
  logger: Logger;
  exit(code: number): void;
}

/** Why the primary stops, as its log says it. */
export interface StopReason {
  readonly level: "info" | "error";
  readonly event: string;
  readonly message: string;
}

/** Each signal the primary handles, and the one method that handles it (gunicorn's arbiter: handle_term, handle_hup…). */
export const SIGNAL_TABLE: Readonly<Record<string, (primary: Primary) => void>> = Object.freeze({
  SIGTERM: (primary) => primary.handleTerm("SIGTERM"),
  SIGINT: (primary) => primary.handleInt(),
  SIGHUP: (primary) => primary.handleHup(),
  SIGTTIN: (primary) => primary.handleTtin(),
  SIGTTOU: (primary) => primary.handleTtou(),
});

/** The second SIGINT: the conventional 128 + 2. */
export const EXIT_INTERRUPTED = 130;

/**
 * The primary's lifecycle: a table of signals and one shutdown path. Stops in the written order: workers first
 * (connections closed with 1001), then HAProxy, then the orphan guard, then exit.
 */
export class Primary {
  private stopping: Promise<void> | undefined;
  private readonly beforeExitHooks: Array<(exitCode: number) => Promise<void>> = [];
  /** Set once everything has stopped: hooks added from then on run at once. */
  private exitingWith: number | undefined;

  constructor(private readonly parts: PrimaryParts) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Routes every signal in SIGNAL_TABLE from `signals` (the process, or a plain emitter in tests) to its handler. */
  listen(signals: Pick<EventEmitter, "on">): void {
    for (const [signal, handle] of Object.entries(SIGNAL_TABLE)) signals.on(signal, () => handle(this));
  }

  /** The one way out: stop everything in order, then exit with `exitCode`. A second call waits for the first. */
  shutdown(reason: StopReason, exitCode: number): Promise<void> {
    if (this.stopping) return this.stopping;
    const { fleet, balancer, guard, logger } = this.parts;
    logger.event(reason.level, reason.event, reason.message);
    this.stopping = (async () => {
      await fleet.stop();
      await balancer?.stop();
      guard.close();
      if (exitCode === 0) {
        logger.event("info", "shutdown", `all workers${balancer ? " and haproxy" : ""} stopped; exiting`);
      }
      this.exitingWith = exitCode;
      await Promise.all(this.beforeExitHooks.map((hook) => hook(exitCode).catch(() => {})));
      this.parts.exit(exitCode);
    })();
    return this.stopping;
  }

  /** `hook` runs once everything has stopped, just before the exit (`wsfleet stop` hears the exit code). */
  beforeExit(hook: (exitCode: number) => Promise<void>): void {
    if (this.exitingWith === undefined) this.beforeExitHooks.push(hook);
    else void hook(this.exitingWith).catch(() => {});
  }

  /** `wsfleet stop`: the same graceful stop as SIGTERM; resolves just before the exit. */
  stop(): Promise<void> {
    return this.shutdown(
      {
        level: "info",
        event: "shutdown",
        message: `wsfleet stop: stopping ${this.parts.fleet.size} workers (connections closed with 1001)`,
      },
      0,
    );
  }

  /** `wsfleet scale <n>` (SIGTTIN/SIGTTOU repeated): resolves once the fleet has `count` settled workers. */
  async scale(count: number): Promise<void> {
    if (this.stopping) return;
    this.parts.logger.event("info", "scale", `scaling from ${this.parts.fleet.size} to ${count} workers`);
    await this.parts.fleet.scaleTo(count);
  }

  /** `wsfleet restart <name>`: one worker drained and replaced; `all` is the rolling restart (SIGHUP). */
  async restart(name: string): Promise<boolean> {
    if (this.stopping) return false;
    if (name !== "all") return this.parts.fleet.restartWorker(name);
    await this.parts.fleet.rollingRestart();
    return true;
  }

  /** SIGTERM (and a first SIGINT): graceful stop; a repeat while stopping changes nothing. */
  handleTerm(signal: NodeJS.Signals): void {
    void this.shutdown(
      {
        level: "info",
        event: "shutdown",
        message: `received ${signal}: stopping ${this.parts.fleet.size} workers (connections closed with 1001)`,
      },
      0,
    );
  }

  /** SIGINT: graceful stop; a second one while stopping kills everything at once (Ctrl-C twice). */
  handleInt(): void {
    if (!this.stopping) {
      this.handleTerm("SIGINT");
      return;
    }
    const { fleet, balancer, logger } = this.parts;
    logger.event("warn", "shutdown", "second SIGINT: killing every worker now");
    fleet.kill();
    balancer?.kill();
    // The guard stays open: it sees us go and sweeps whatever the SIGKILLs have not reached yet.
    this.parts.exit(EXIT_INTERRUPTED);
  }

  /** SIGHUP: rolling restart, one worker at a time. */
  handleHup(): void {
    if (!this.stopping) void this.parts.fleet.rollingRestart();
  }

  /** SIGTTIN: one worker more. */
  handleTtin(): void {
    if (!this.stopping) void this.parts.fleet.addWorker();
  }

  /** SIGTTOU: one worker less. */
  handleTtou(): void {
    if (!this.stopping) void this.parts.fleet.removeWorker();
  }

  /** Nothing is left that could serve (every worker FATAL, or HAProxy FATAL): stop the rest and exit 1. */
  fail(message: string): Promise<void> {
    return this.shutdown({ level: "error", event: "fatal", message }, 1);
  }
}
