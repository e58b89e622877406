import type { EventEmitter } from "node:events";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { plural } from "../log/wording.js";
import type { CertificateReloaded, LastReload, Reloaded, Upgraded } from "../protocol/control.js";
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
    /** `wsfleet upgrade`: every worker stops accepting and drains (1012); resolves once all have exited. */
    retire(): Promise<void>;
  };
  balancer?:
    | {
        stop(): Promise<void>;
        kill(): void;
        /** true once HAProxy's checks see every one of `servers` UP; false when it gave up waiting. */
        waitUntilUp(servers: readonly string[]): Promise<boolean>;
        /** `wsfleet upgrade`: soft stop (the new HAProxy holds the listeners); resolves once it has exited. */
        handOver(killAfterMs: number): Promise<void>;
      }
    | undefined;
  /** With --tls-cert: re-reads and checks the certificate files, and serves them if they pass (else throws). */
  certificates?: { reload(): Promise<{ readonly serial: string }> } | undefined;
  /** With --config: `wsfleet reload` and SIGHUP re-read it and apply what changed (src/reload/). */
  config?: { reload(): Promise<LastReload> } | undefined;
  /** `wsfleet upgrade` and SIGUSR2 (src/upgrade/); undefined: refused with `refusal`'s reason. */
  upgrade?:
    | {
        /** Why this fleet cannot be upgraded without dropping connections, if it cannot. */
        readonly refusal: string | undefined;
        /** Starts the new primary from disk; resolves with its pid once it serves, rejects (it stopped) if it does not. */
        startNewGeneration(): Promise<{ pid: number }>;
        /** The new one serves: let go of what it needs (the pid file `wsfleet status` looks for, the HTTP ports). */
        release(): Promise<void>;
        /** How long the old HAProxy may take to see its last connection end before SIGKILL. */
        readonly drainMs: number;
      }
    | undefined;
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
  SIGUSR2: (primary) => primary.handleUsr2(),
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
  private reloading: Promise<unknown> | undefined;
  private upgrading: Promise<Upgraded> | undefined;

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
    await this.underReload(`rolling restart of ${this.parts.fleet.size} workers`, () => this.rollWorkers());
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

  /** SIGHUP: as `wsfleet reload`; a refused reload has been logged, and changed nothing. */
  handleHup(): void {
    this.reload().catch(() => {});
  }

  /**
   * SIGHUP and `wsfleet reload`: with --config, the file re-read and what changed applied (a bad file changes nothing
   * and rejects with why); without, the rolling restart, one worker at a time. Resolves once done.
   */
  reload(): Promise<Reloaded> {
    const { config, fleet } = this.parts;
    if (!config) {
      const size = fleet.size;
      return this.underReload(`rolling restart of ${size} workers`, () => this.rollWorkers()).then(() => ({
        message: `rolling restart of ${plural(size, "worker")} done (no --config to re-read)`,
      }));
    }
    return this.underReload("reloading the config file", () => config.reload()).then((done) => ({
      message:
        done.changes.length === 0
          ? `${done.file} unchanged: every worker replaced (rolling restart)`
          : `reloaded ${done.file}: ${done.changes.join(", ")}`,
    }));
  }

  /**
   * A reload: systemd sees RELOADING=1 until it is done (READY=1). One asked while another runs waits for it, then
   * runs (a SIGHUP after an edit must see the edit).
   */
  private underReload<T>(status: string, work: () => Promise<T>): Promise<T> {
    if (this.stopping) return Promise.reject(new Error("the primary is stopping"));
    const run = async () => {
      if (!this.isReady) return work();
      void this.notify("RELOADING=1", `STATUS=${status}`);
      try {
        return await work();
      } finally {
        if (!this.stopping) void this.notify("READY=1", `STATUS=${this.statusLine()}`);
      }
    };
    // The one running is settled (it never rejects), so the next waits for it and then runs.
    const turn = this.reloading ? this.reloading.then(run) : run();
    const settled = turn.catch(() => {});
    this.reloading = settled;
    void settled.then(() => {
      if (this.reloading === settled) this.reloading = undefined;
    });
    return turn;
  }

  /**
   * With --tls-cert the certificate files are re-read first (a bad one is refused and the old one kept), then the
   * rolling restart, one worker at a time, whose new workers serve the certificate now in place.
   */
  rollWorkers(): Promise<void> {
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

  /** SIGUSR2, as nginx's and gunicorn's: `wsfleet upgrade`; a failure has been logged, and this primary serves on. */
  handleUsr2(): void {
    this.upgrade().catch(() => {});
  }

  /**
   * `wsfleet upgrade`: the new primary is started from disk and, once it serves, this generation hands over (HAProxy
   * soft-stops, the workers drain with 1012 spread over --drain-spread) and exits. Resolves once the new one
   * serves; rejects when it cannot be done (nothing changed) or the new one failed (it was stopped, this one serves).
   */
  upgrade(): Promise<Upgraded> {
    const { upgrade, logger } = this.parts;
    if (this.upgrading) return this.upgrading;
    const refusal = !upgrade
      ? "this primary cannot start another"
      : this.stopping
        ? "this primary is stopping"
        : !this.isReady
          ? "this primary is not ready yet: every worker must be RUNNING first"
          : upgrade.refusal;
    if (refusal !== undefined || !upgrade) {
      const error = wsfleetError("upgradeRefused", refusal ?? "");
      logger.event("error", "upgrade-refused", error.message);
      return Promise.reject(error);
    }
    logger.event("info", "upgrade", "upgrade: starting the new primary from what is on disk now");
    this.upgrading = upgrade
      .startNewGeneration()
      .then(({ pid }) => {
        this.handOver(pid, upgrade);
        return {
          pid,
          message: `primary ${pid} serves now; this one (pid ${process.pid}) drains its connections (1012, spread over --drain-spread) and exits`,
        };
      })
      .catch((error: Error) => {
        const failed = wsfleetError("upgradeFailed", error.message);
        logger.event("error", "upgrade-failed", failed.message);
        throw failed;
      })
      .finally(() => {
        this.upgrading = undefined;
      });
    return this.upgrading;
  }

  /** The old generation's way out once the new one serves: stop accepting, drain, exit 0; systemd follows MAINPID=. */
  private handOver(newPid: number, upgrade: NonNullable<PrimaryParts["upgrade"]>): void {
    const { fleet, balancer, guard, logger } = this.parts;
    logger.event(
      "info",
      "upgrade",
      `new primary ${newPid} serves; this generation stops accepting, drains ${plural(fleet.size, "worker")} and exits`,
    );
    this.stopping = (async () => {
      await upgrade.release().catch(() => {});
      // HAProxy first, so no new connection reaches this generation; it exits once the workers' drain has ended its last.
      const haproxyGone = balancer?.handOver(upgrade.drainMs);
      await fleet.retire();
      await haproxyGone;
      await guard.close();
      logger.event("info", "upgrade", `old generation drained; exiting, primary ${newPid} serves`);
      this.exitingWith = 0;
      await Promise.all(this.beforeExitHooks.map((hook) => hook(0).catch(() => {})));
      this.parts.exit(0);
    })();
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
