import { EventEmitter } from "node:events";
import type { Logger } from "../log/logger.js";
import type { Options } from "../options.js";
import { CLOSE_SERVICE_RESTART } from "../worker/messages.js";
import { killGroup, OrphanGuard } from "./orphan-guard.js";
import { assertPortFree } from "./port-check.js";
import { DEFAULT_RESTART_POLICY } from "./restart-policy.js";
import { type Slot, slotFor } from "./slot.js";
import { type Clock, systemClock, WorkerHandle, type WorkerHandleDeps, type WorkerStatus } from "./worker-handle.js";

export interface FleetDeps {
  logger: Logger;
  spawn: WorkerHandleDeps["spawn"];
  readiness: WorkerHandleDeps["readiness"];
  probeReady: WorkerHandleDeps["probeReady"];
  clock?: Clock;
  /** A load balancer in front (HAProxy): takes a worker out of rotation before its replacement, back after. */
  traffic?: TrafficControl;
}

/** What a rolling restart asks of the load balancer in front, if there is one. */
export interface TrafficControl {
  /** No new connections to this worker; resolves once the balancer has taken it out. */
  drain(slot: Slot): Promise<void>;
  /** The replacement is RUNNING: resolves once the balancer sees it healthy and sends it connections again. */
  admit(slot: Slot): Promise<void>;
  /** A new worker (SIGTTIN) joins the balancer; `workers` is the count with it. */
  add(slot: Slot, workers: number): Promise<void>;
  /** A worker removed (SIGTTOU), already stopped, leaves the balancer; `workers` is the count without it. */
  remove(slot: Slot, workers: number): Promise<void>;
}

/**
 * N worker slots on consecutive ports: start them, grow and shrink the set, replace them one at a time, stop them.
 * Emits "all-fatal" when no slot is left that could serve.
 */
export class Fleet extends EventEmitter {
  private readonly handles: WorkerHandle[] = [];
  private readonly guard: OrphanGuard;
  private rolling: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly options: Options,
    private readonly deps: FleetDeps,
  ) {
    super();
    this.guard = new OrphanGuard((code, signal) =>
      deps.logger.event("warn", "guard-exited", `orphan guard exited (${signal ?? code}); starting another`),
    );
  }

  /** Checks every port first, so a port in use fails the whole start with its name before anything runs. */
  async start(): Promise<void> {
    const option = this.options.sharedPort === undefined ? "--base-port" : "--shared-port";
    for (const port of this.portsToCheck(this.options.workers))
      await assertPortFree(this.options.host, port, { port: option, host: "--host" });
    this.guard.start();
    for (let index = 0; index < this.options.workers; index += 1) this.addSlot();
  }

  status(): WorkerStatus[] {
    return this.handles.map((handle) => handle.status());
  }

  /** The orphan guard removes this directory if the primary dies by SIGKILL. */
  removeOnDeath(dir: string): void {
    this.guard.removeOnDeath(dir);
  }

  get guardPid(): number | undefined {
    return this.guard.pid;
  }

  /** gunicorn's TTIN: one more worker on the next port. */
  async addWorker(): Promise<void> {
    if (this.stopped) return;
    const port = this.options.sharedPort ?? this.options.basePort + this.handles.length;
    if (port > 65535) {
      this.deps.logger.event("warn", "scale", `not adding a worker: port ${port} is past 65535`);
      return;
    }
    try {
      // A shared port is ours already; a new consecutive port must be free.
      if (this.options.sharedPort === undefined) await assertPortFree(this.options.host, port);
    } catch (error) {
      this.deps.logger.event("error", "scale", `not adding a worker: ${(error as Error).message}`);
      return;
    }
    const handle = this.addSlot();
    this.deps.logger.event("info", "scale", `added worker ${handle.slot.processName} on port ${port}`);
    await this.deps.traffic?.add(handle.slot, this.handles.length).catch((error: Error) => {
      this.deps.logger.event("error", "scale", `${handle.slot.processName} gets no traffic: ${error.message}`);
    });
  }

  /** gunicorn's TTOU: stop the last worker gracefully; the last one is never removed. */
  async removeWorker(): Promise<void> {
    if (this.stopped || this.handles.length <= 1) return;
    const handle = this.handles.pop();
    if (!handle) return;
    this.deps.logger.event("info", "scale", `removing worker ${handle.slot.processName} from port ${handle.slot.port}`);
    const { traffic } = this.deps;
    await traffic?.drain(handle.slot);
    await handle.stop();
    await traffic?.remove(handle.slot, this.handles.length).catch((error: Error) => {
      this.deps.logger.event(
        "error",
        "scale",
        `could not remove ${handle.slot.processName} from haproxy: ${error.message}`,
      );
    });
  }

  /** SIGHUP: replace workers one at a time, each replacement RUNNING before the next; old connections get 1012. */
  rollingRestart(): Promise<void> {
    if (this.rolling) return this.rolling;
    this.rolling = this.runRollingRestart().finally(() => {
      this.rolling = undefined;
    });
    return this.rolling;
  }

  /**
   * SIGTERM/SIGINT: every worker gets SIGTERM (built-in ones close connections with 1001), SIGKILL after stop-timeout.
   * `last` (HAProxy) runs once the workers are gone and before the orphan guard is released.
   */
  async stop(last?: () => Promise<void>): Promise<void> {
    this.stopped = true;
    await Promise.all(this.handles.map((handle) => handle.stop()));
    await last?.();
    this.guard.close();
  }

  /** Another process group (HAProxy) that the orphan guard SIGKILLs with the workers if the primary dies. */
  watchGroup(pgid: number): void {
    this.guard.watch(pgid);
  }

  unwatchGroup(pgid: number): void {
    this.guard.unwatch(pgid);
  }

  /** A second Ctrl-C: no waiting. */
  kill(): void {
    this.stopped = true;
    for (const handle of this.handles) handle.kill();
    this.guard.close();
  }

  /** Consecutive ports each need checking; a shared port once. */
  private portsToCheck(workers: number): number[] {
    if (this.options.sharedPort !== undefined) return [this.options.sharedPort];
    return Array.from({ length: workers }, (_, index) => this.options.basePort + index);
  }

  private async runRollingRestart(): Promise<void> {
    const { logger } = this.deps;
    logger.event("info", "reload", `rolling restart of ${this.handles.length} workers`);
    for (const handle of [...this.handles]) {
      if (this.stopped) return;
      if (handle.state === "FATAL") {
        // A slot that gave up gets a fresh chance, as `supervisorctl restart` would give it.
        handle.start();
        continue;
      }
      try {
        await this.deps.traffic?.drain(handle.slot);
        await handle.replace(CLOSE_SERVICE_RESTART);
        await this.deps.traffic?.admit(handle.slot);
      } catch (error) {
        logger.event(
          "error",
          "reload",
          `rolling restart stopped at ${handle.slot.processName}: ${(error as Error).message}`,
        );
        return;
      }
    }
    logger.event("info", "reload", "rolling restart done");
  }

  private addSlot(): WorkerHandle {
    const slot = slotFor(this.options.name, this.options.basePort, this.handles.length, this.options.sharedPort);
    const handle = new WorkerHandle(slot, {
      spawn: this.deps.spawn,
      readiness: this.deps.readiness,
      probeReady: this.deps.probeReady,
      logger: this.deps.logger,
      policy: { ...DEFAULT_RESTART_POLICY, startRetries: this.options.startRetries },
      startSecs: this.options.startSecs,
      stopTimeoutMs: this.options.stopTimeoutMs,
      clock: this.deps.clock ?? systemClock,
      signalGroup: killGroup,
      onGroupStart: (pgid) => this.guard.watch(pgid),
      onGroupEnd: (pgid) => this.guard.unwatch(pgid),
    });
    handle.on("state", () => {
      if (!this.stopped && this.handles.every((each) => each.state === "FATAL")) this.emit("all-fatal");
    });
    this.handles.push(handle);
    handle.start();
    return handle;
  }
}
