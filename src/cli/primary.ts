import type { EventEmitter } from "node:events";
import type { Logger } from "../log/logger.js";
import type { ServiceNotifier } from "./sd-notify.js";

/** What the primary runs: the fleet, and HAProxy in front when --haproxy is given. */
export interface PrimaryParts {
  fleet: {
    readonly size: number;
    stop(): Promise<void>;
    kill(): void;
    rollingRestart(): Promise<void>;
    addWorker(): Promise<void>;
    removeWorker(): Promise<void>;
    /** "2 of 2 workers RUNNING": systemd's STATUS= line. */
    summary(): string;
  };
  balancer?: { stop(): Promise<void>; kill(): void } | undefined;
  /** The orphan guard: closed last, once every process it watches is gone. */
  guard: { close(): void };
  logger: Logger;
  /** systemd's side (sd_notify): sends nothing when the primary does not run under a Type=notify unit. */
  service?: ServiceNotifier;
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
  private isReady = false;
  private reloading = false;

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
    const stoppingSent = this.notify("STOPPING=1", `STATUS=stopping: ${reason.message}`);
    this.stopping = (async () => {
      await fleet.stop();
      await balancer?.stop();
      guard.close();
      if (exitCode === 0) {
        logger.event("info", "shutdown", `all workers${balancer ? " and haproxy" : ""} stopped; exiting`);
      }
      await stoppingSent;
      this.parts.exit(exitCode);
    })();
    return this.stopping;
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

  /** Every worker has settled (and HAProxy sees them UP): systemd may start what comes after us (READY=1). */
  markReady(): void {
    if (this.stopping || this.isReady) return;
    this.isReady = true;
    void this.notify("READY=1", `STATUS=${this.statusLine()}`);
  }

  /** SIGHUP: rolling restart, one worker at a time; systemd sees RELOADING=1 until it is done (READY=1). */
  handleHup(): void {
    if (this.stopping || this.reloading) return;
    const { fleet } = this.parts;
    if (!this.isReady) {
      void fleet.rollingRestart();
      return;
    }
    this.reloading = true;
    void this.notify("RELOADING=1", `STATUS=rolling restart of ${fleet.size} workers`);
    void fleet.rollingRestart().finally(() => {
      this.reloading = false;
      if (!this.stopping) void this.notify("READY=1", `STATUS=${this.statusLine()}`);
    });
  }

  /** SIGTTIN: one worker more. */
  handleTtin(): void {
    if (!this.stopping) void this.parts.fleet.addWorker().then(() => this.notifyStatus());
  }

  /** SIGTTOU: one worker less. */
  handleTtou(): void {
    if (!this.stopping) void this.parts.fleet.removeWorker().then(() => this.notifyStatus());
  }

  private statusLine(): string {
    return `${this.parts.fleet.summary()}${this.parts.balancer ? ", haproxy in front" : ""}`;
  }

  /** A new worker count for systemd's status line (after scaling). */
  private notifyStatus(): void {
    if (this.isReady && !this.stopping && !this.reloading) void this.notify(`STATUS=${this.statusLine()}`);
  }

  private notify(...assignments: string[]): Promise<void> {
    return this.parts.service?.notify(...assignments) ?? Promise.resolve();
  }

  /** Nothing is left that could serve (every worker FATAL, or HAProxy FATAL): stop the rest and exit 1. */
  fail(message: string): Promise<void> {
    return this.shutdown({ level: "error", event: "fatal", message }, 1);
  }
}
