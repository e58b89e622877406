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
  };
  balancer?: { stop(): Promise<void>; kill(): void } | undefined;
  /** With --tls-cert: re-reads and checks the certificate files, and serves them if they pass (else throws). */
  certificates?: { reload(): Promise<unknown> } | undefined;
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

  /**
   * SIGHUP: the certificate files are re-read first (a bad one is refused and the old one kept), then the rolling
   * restart, one worker at a time, whose new workers serve the certificate now in place.
   */
  handleHup(): void {
    if (this.stopping) return;
    const { certificates, fleet, logger } = this.parts;
    if (!certificates) {
      void fleet.rollingRestart();
      return;
    }
    void (async () => {
      await certificates.reload().catch((error: Error) => {
        logger.event(
          "error",
          "tls-refused",
          `tls: new certificate refused, the old one keeps serving: ${error.message}`,
        );
      });
      await fleet.rollingRestart();
    })();
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
