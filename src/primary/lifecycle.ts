import type { EventEmitter } from "node:events";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { plural } from "../log/wording.js";
import type { CertificateReloaded } from "../protocol/control.js";
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
    scaleTo(count: number): Promise<void>;
    restartWorker(name: string): Promise<boolean>;
    /** "2 of 2 workers RUNNING": systemd's STATUS= line. */
    summary(): string;
    /** Resolves once every worker is RUNNING or FATAL (or stopped). */
    settled(): Promise<void>;
    allRunning(): boolean;
    nextStateChange(): Promise<void>;
    status(): ReadonlyArray<{ readonly name: string; readonly state: string }>;
  };
  balancer?:
    | {
        stop(): Promise<void>;
        kill(): void;
        /** true once HAProxy's checks see every one of `servers` UP; false when it gave up waiting. */
        waitUntilUp(servers: readonly string[]): Promise<boolean>;
      }
    | undefined;
  /** With --tls-cert: re-reads and checks the certificate files, and serves them if they pass (else throws). */
  certificates?: { reload(): Promise<{ readonly serial: string }> } | undefined;
  /** The orphan guard: closed last, once every process it watches is gone. */
  guard: { close(): Promise<void> };
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
  private readonly beforeExitHooks: Array<(exitCode: number) => Promise<void>> = [];
  /** Set once everything has stopped: hooks added from then on run at once. */
  private exitingWith: number | undefined;
  private isReady = false;
  private reloading: Promise<void> | undefined;

  constructor(private readonly parts: PrimaryParts) {}

  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  /** Routes every signal in SIGNAL_TABLE from `signals` (the process, or a plain emitter in tests) to its handler. */
  listen(signals: Pick<EventEmitter, "on">): void {
    for (const [signal, handle] of Object.entries(SIGNAL_TABLE)) signals.on(signal, () => handle(this));
  }

  /** The one stop order: workers first (connections closed with 1001), then HAProxy, then the orphan guard. */
  private async stopInOrder(): Promise<void> {
    const { fleet, balancer, guard } = this.parts;
    await fleet.stop();
    await balancer?.stop();
    await guard.close();
  }

  /**
   * A step of the start that failed (a port taken after the check, HAProxy that would not start): whatever has
   * started stops in the one stop order, and the error goes on to the entry point, which prints it and exits.
   */
  async failStart(error: unknown): Promise<never> {
    this.stopping ??= this.stopInOrder();
    await this.stopping;
    throw error;
  }

  /** The one way out: stop everything in order, then exit with `exitCode`. A second call waits for the first. */
  shutdown(reason: StopReason, exitCode: number): Promise<void> {
    if (this.stopping) return this.stopping;
    const { balancer, logger } = this.parts;
    logger.event(reason.level, reason.event, reason.message);
    const stoppingSent = this.notify("STOPPING=1", `STATUS=stopping: ${reason.message}`);
    this.stopping = (async () => {
      await this.stopInOrder();
      if (exitCode === 0) {
        logger.event("info", "shutdown", `all workers${balancer ? " and haproxy" : ""} stopped; exiting`);
      }
      await stoppingSent;
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
        message: `wsfleet stop: stopping ${plural(this.parts.fleet.size, "worker")} (connections closed with 1001)`,
      },
      0,
    );
  }

  /** `wsfleet scale <n>` (SIGTTIN/SIGTTOU repeated): resolves once the fleet has `count` settled workers. */
  async scale(count: number): Promise<void> {
    if (this.stopping) return;
    this.parts.logger.event("info", "scale", `scaling from ${this.parts.fleet.size} to ${count} workers`);
    await this.parts.fleet.scaleTo(count);
    this.notifyStatus();
  }

  /** `wsfleet restart <name>`: one worker drained and replaced; `all` is the rolling restart (SIGHUP). */
  async restart(name: string): Promise<boolean> {
    if (this.stopping) return false;
    if (name !== "all") return this.parts.fleet.restartWorker(name);
    await this.reload();
    return true;
  }

  /** SIGTERM (and a first SIGINT): graceful stop; a repeat while stopping changes nothing. */
  handleTerm(signal: NodeJS.Signals): void {
    void this.shutdown(
      {
        level: "info",
        event: "shutdown",
        message: `received ${signal}: stopping ${plural(this.parts.fleet.size, "worker")} (connections closed with 1001)`,
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
   * Ready (systemd's READY=1) once every worker is RUNNING and, with --haproxy, HAProxy's checks see them all UP: only
   * then does the fleet serve as asked. A worker FATAL at start holds READY=1 back (systemd's start then times out and
   * Restart= applies, as for any service that never gets ready); `wsfleet restart <name>` that brings it up releases
   * it. Resolves once ready, or when the primary stops first.
   */
  async becomeReady(): Promise<void> {
    const { fleet, balancer, logger } = this.parts;
    await fleet.settled();
    // Said once, whichever holds READY=1 back first: the log line and systemd's status line.
    let warned = false;
    const holdBack = (why: string) => {
      if (warned || this.stopping) return;
      warned = true;
      logger.event("warn", "not-ready", `not ready: ${why}`);
      void this.notify(`STATUS=not ready: ${this.statusLine()}`);
    };
    for (;;) {
      while (!fleet.allRunning()) {
        if (this.stopping) return;
        if (fleet.status().every((worker) => worker.state === "RUNNING" || worker.state === "FATAL")) {
          holdBack(
            `${fleet.summary()}; READY=1 waits for every worker RUNNING (wsfleet restart <name> gives a FATAL worker a fresh start)`,
          );
        }
        await fleet.nextStateChange();
      }
      if (!balancer || this.stopping) break;
      if (await balancer.waitUntilUp(fleet.status().map((worker) => worker.name))) break;
      holdBack("haproxy does not see every RUNNING worker UP yet; still waiting");
    }
    if (this.stopping) return;
    logger.event("info", "ready", `ready: ${fleet.summary()}${balancer ? ", haproxy sees them UP" : ""}`);
    this.isReady = true;
    void this.notify("READY=1", `STATUS=${this.statusLine()}`);
  }

  /**
   * `wsfleet reload-cert`: the files re-read and checked (a bad one is refused, the old one kept); HAProxy serves the
   * new one to new handshakes at once, built-in workers only once replaced, so they get a rolling restart.
   */
  async reloadCertificate(): Promise<CertificateReloaded> {
    const { certificates, balancer, fleet } = this.parts;
    if (!certificates) throw wsfleetError("noCertificate");
    const { serial } = await certificates.reload();
    if (balancer) {
      return {
        serial,
        message: `haproxy now serves certificate serial ${serial} to new handshakes; open connections keep theirs`,
      };
    }
    // uWebSockets.js cannot swap a certificate in a running app (uWebSockets.js#1289): new workers read the new one.
    void fleet.rollingRestart();
    return {
      serial,
      message: `certificate serial ${serial} checked; rolling restart under way: each worker is replaced (its connections closed with 1012) and its replacement serves the new certificate`,
    };
  }

  /** SIGHUP: rolling restart, one worker at a time. */
  handleHup(): void {
    void this.reload();
  }

  /**
   * The rolling restart of SIGHUP and `wsfleet restart all`; systemd sees RELOADING=1 until it is done (READY=1).
   * Resolves when it is done; one asked while one runs joins it.
   */
  reload(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.reloading) return this.reloading;
    const { fleet } = this.parts;
    if (!this.isReady) return this.rollingRestart();
    void this.notify("RELOADING=1", `STATUS=rolling restart of ${fleet.size} workers`);
    this.reloading = this.rollingRestart().finally(() => {
      this.reloading = undefined;
      if (!this.stopping) void this.notify("READY=1", `STATUS=${this.statusLine()}`);
    });
    return this.reloading;
  }

  /**
   * With --tls-cert the certificate files are re-read first (a bad one is refused and the old one kept), then the
   * rolling restart, one worker at a time, whose new workers serve the certificate now in place.
   */
  private rollingRestart(): Promise<void> {
    const { certificates, fleet, logger } = this.parts;
    if (!certificates) return fleet.rollingRestart();
    return certificates
      .reload()
      .catch((error: Error) => {
        logger.event(
          "error",
          "tls-refused",
          `tls: new certificate refused, the old one keeps serving: ${error.message}`,
        );
      })
      .then(() => fleet.rollingRestart());
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
