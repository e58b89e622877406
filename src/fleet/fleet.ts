import { EventEmitter } from "node:events";
import type { FleetOptions, SupervisionOptions } from "../config/validate.js";
import type { Logger } from "../log/logger.js";
import { CLOSE_SERVICE_RESTART } from "../protocol/close-codes.js";
import { MAX_PORT } from "../protocol/worker-env.js";
import type { Clock } from "../supervise/clock.js";
import type { ProcessGroupWatcher } from "../supervise/process-group.js";
import { restartPolicyWith } from "../supervise/restart-policy.js";
import { SETTLED_STATES } from "../supervise/states.js";
import type { LoadBalancer } from "./load-balancer.js";
import { type Slot, slotFor } from "./slot.js";
import { FleetWorker, type FleetWorkerDeps, type FleetWorkerStatus } from "./worker.js";

export interface FleetDeps {
  logger: Logger;
  spawn: FleetWorkerDeps["spawn"];
  readiness: FleetWorkerDeps["readiness"];
  probeReady: FleetWorkerDeps["probeReady"];
  clock: Clock;
  /** The orphan guard: told of every process group that starts and ends. */
  groups: ProcessGroupWatcher;
  signalGroup(pgid: number, signal: NodeJS.Signals): void;
  /** Throws WSFLEET_PORT_IN_USE (naming `option`) when `port` cannot be bound on `host`. */
  assertPortFree(host: string, port: number, option: string): Promise<void>;
}

/**
 * N worker slots: start them, grow and shrink the set, replace them one at a time, stop them. A load balancer in
 * front, if any, follows every change through the LoadBalancer interface. Emits "all-fatal" when no slot is left
 * that could serve.
 */
export class Fleet extends EventEmitter {
  private readonly workers: FleetWorker[] = [];
  private balancer: LoadBalancer | undefined;
  private rolling: Promise<void> | undefined;
  /** The changes (scale, restart) run one after another, in the order asked, as gunicorn's arbiter takes its signals. */
  private changes: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** How a worker is started; `wsfleet reload` swaps it, so replacements and new slots run the new settings. */
  private spawn: FleetDeps["spawn"];

  constructor(
    private readonly options: FleetOptions,
    private readonly supervision: SupervisionOptions,
    private readonly deps: FleetDeps,
  ) {
    super();
    this.spawn = deps.spawn;
  }

  /** Every worker started from now on (a replacement in a rolling restart, a new slot) is started this way. */
  useSpawner(spawn: FleetDeps["spawn"]): void {
    this.spawn = spawn;
  }

  /** Checks every port first, so a port in use fails the whole start with its name before anything runs. */
  async start(): Promise<void> {
    const { host, ports, workers } = this.options;
    if (ports.kind === "shared") await this.deps.assertPortFree(host, ports.port, "--shared-port");
    else
      for (let index = 0; index < workers; index += 1)
        await this.deps.assertPortFree(host, ports.basePort + index, "--base-port");
    for (let index = 0; index < workers; index += 1) this.addSlot();
  }

  /** Resolves once every slot has settled: RUNNING, or FATAL after its retries. */
  async settled(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.process.waitFor(SETTLED_STATES)));
  }

  /** Whether every worker is RUNNING: what systemd's READY=1 waits for. */
  allRunning(): boolean {
    return this.workers.length > 0 && this.workers.every((worker) => worker.state === "RUNNING");
  }

  /** Resolves at the next state change of any worker. */
  nextStateChange(): Promise<void> {
    return new Promise((resolve) => this.once("worker-state", () => resolve()));
  }

  /** From now on the balancer follows scaling and rolling restarts. */
  attach(balancer: LoadBalancer): void {
    this.balancer = balancer;
  }

  get size(): number {
    return this.workers.length;
  }

  status(): FleetWorkerStatus[] {
    return this.workers.map((worker) => worker.status());
  }

  /** Whether a slot of this name exists (`wsfleet restart <name>` checks before it asks). */
  hasWorker(name: string): boolean {
    return this.workers.some((worker) => worker.slot.name === name);
  }

  /**
   * `wsfleet scale <n>`: one SIGTTIN or SIGTTOU at a time until there are `count` workers (at least 1), each added
   * worker settled and in the balancer before the next. Stops early if a worker cannot be added (port taken).
   */
  scaleTo(count: number): Promise<void> {
    return this.inTurn(async () => {
      const target = Math.max(1, count);
      while (!this.stopped && this.workers.length !== target) {
        const before = this.workers.length;
        if (before < target) await this.grow();
        else await this.shrink();
        if (this.workers.length === before) return;
      }
      await this.settled();
    });
  }

  /**
   * `wsfleet restart <name>`: that one worker drained in the balancer, replaced (1012) and admitted again, as one
   * step of a rolling restart; a FATAL one gets a fresh start. Resolves false if no slot has that name.
   */
  restartWorker(name: string): Promise<boolean> {
    if (!this.hasWorker(name)) return Promise.resolve(false);
    return this.inTurn(async () => {
      const worker = this.workers.find((each) => each.slot.name === name);
      if (!worker || this.stopped) return false;
      await this.restartOne(worker);
      await worker.process.waitFor(SETTLED_STATES);
      return true;
    });
  }

  /** "3 of 4 workers RUNNING, 1 FATAL": how many serve, and what the others are doing. */
  summary(): string {
    const counts = new Map<string, number>();
    for (const worker of this.workers) counts.set(worker.state, (counts.get(worker.state) ?? 0) + 1);
    const others = [...counts].filter(([state]) => state !== "RUNNING").map(([state, count]) => `${count} ${state}`);
    const running = `${counts.get("RUNNING") ?? 0} of ${this.workers.length} workers RUNNING`;
    return [running, ...others].join(", ");
  }

  /** gunicorn's TTIN: one more worker on the next port; the balancer takes it once it has settled. */
  addWorker(): Promise<void> {
    return this.inTurn(() => this.grow());
  }

  /** gunicorn's TTOU: drain and stop the last worker gracefully; the last one is never removed. */
  removeWorker(): Promise<void> {
    return this.inTurn(() => this.shrink());
  }

  /** SIGHUP: replace workers one at a time, each replacement RUNNING before the next; old connections get 1012. */
  rollingRestart(): Promise<void> {
    if (this.rolling) return this.rolling;
    this.rolling = this.inTurn(() => this.runRollingRestart()).finally(() => {
      this.rolling = undefined;
    });
    return this.rolling;
  }

  /** Graceful stop: every worker gets SIGTERM (built-in ones close connections with 1001), SIGKILL after stop-timeout. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((worker) => worker.process.stop()));
  }

  /**
   * `wsfleet upgrade`: the next generation's workers share the ports; every worker here stops accepting at once and
   * drains (1012, spread over --drain-spread). Resolves once all have exited.
   */
  async retire(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers.map((worker) => worker.retire(CLOSE_SERVICE_RESTART)));
  }

  /** A second Ctrl-C: no waiting. */
  kill(): void {
    this.stopped = true;
    for (const worker of this.workers) worker.process.kill();
  }

  /** Runs `change` once the changes asked before it are done. */
  private inTurn<T>(change: () => Promise<T>): Promise<T> {
    const turn = this.changes.then(change);
    this.changes = turn.catch(() => {});
    return turn;
  }

  private async grow(): Promise<void> {
    if (this.stopped) return;
    const { host, ports } = this.options;
    const slot = slotFor(this.options.name, ports, this.workers.length);
    if (slot.port > MAX_PORT) {
      this.deps.logger.event("warn", "scale", `not adding a worker: port ${slot.port} is past ${MAX_PORT}`);
      return;
    }
    try {
      // A shared port is ours already; a new consecutive port must be free.
      if (ports.kind === "consecutive") await this.deps.assertPortFree(host, slot.port, "--base-port");
    } catch (error) {
      this.deps.logger.event("error", "scale", `not adding a worker: ${(error as Error).message}`);
      return;
    }
    const worker = this.addSlot();
    this.deps.logger.event("info", "scale", `added worker ${slot.name} on port ${slot.port}`);
    if (!this.balancer) return;
    await worker.process.waitFor(SETTLED_STATES);
    await this.balancer.add(slot, this.workers.length).catch((error: Error) => {
      this.deps.logger.event("error", "scale", `${slot.name} gets no traffic: ${error.message}`);
    });
  }

  private async shrink(): Promise<void> {
    if (this.stopped || this.workers.length <= 1) return;
    const worker = this.workers.pop();
    if (!worker) return;
    const { slot } = worker;
    this.deps.logger.event("info", "scale", `removing worker ${slot.name} from port ${slot.port}`);
    await this.balancer?.drain(slot.name);
    await worker.process.stop();
    await this.balancer?.remove(slot.name, this.workers.length).catch((error: Error) => {
      this.deps.logger.event("error", "scale", `could not remove ${slot.name} from the balancer: ${error.message}`);
    });
  }

  private async runRollingRestart(): Promise<void> {
    const { logger } = this.deps;
    logger.event("info", "reload", `rolling restart of ${this.workers.length} workers`);
    for (const worker of [...this.workers]) {
      if (this.stopped) return;
      try {
        await this.restartOne(worker);
      } catch (error) {
        logger.event("error", "reload", `rolling restart stopped at ${worker.slot.name}: ${(error as Error).message}`);
        return;
      }
    }
    logger.event("info", "reload", "rolling restart done");
  }

  /** Drain in the balancer, replace (old connections closed with 1012), admit once RUNNING. */
  private async restartOne(worker: FleetWorker): Promise<void> {
    if (worker.state === "FATAL") {
      // A slot that gave up gets a fresh chance, as `supervisorctl restart` would give it.
      worker.process.start();
      return;
    }
    await this.balancer?.drain(worker.slot.name);
    await worker.replace(CLOSE_SERVICE_RESTART);
    await this.balancer?.admit(worker.slot.name);
  }

  private addSlot(): FleetWorker {
    const slot: Slot = slotFor(this.options.name, this.options.ports, this.workers.length);
    const { deps, supervision } = this;
    const worker = new FleetWorker(slot, {
      spawn: (each) => this.spawn(each),
      readiness: deps.readiness,
      probeReady: deps.probeReady,
      logger: deps.logger,
      policy: restartPolicyWith(supervision),
      startSecs: supervision.startSecs,
      stopTimeoutMs: supervision.stopTimeoutMs,
      clock: deps.clock,
      signalGroup: deps.signalGroup,
      onGroupStart: (pgid) => deps.groups.watch(pgid),
      onGroupEnd: (pgid) => deps.groups.unwatch(pgid),
    });
    worker.process.on("state", () => {
      if (!this.stopped && this.workers.every((each) => each.state === "FATAL")) this.emit("all-fatal");
      this.emit("worker-state");
    });
    this.workers.push(worker);
    worker.process.start();
    return worker;
  }
}
