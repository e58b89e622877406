import type { ChildProcess } from "node:child_process";
import type { WorkerStatus } from "../protocol/control.js";
import type { Counters } from "../protocol/counters.js";
import { isWorkerMessage, type PrimaryToWorker } from "../protocol/messages.js";
import type { ProcessState } from "../supervise/states.js";
import { SupervisedProcess, type SupervisedProcessDeps } from "../supervise/supervised-process.js";
import type { Slot } from "./slot.js";

/**
 * How a worker says it is listening: an IPC message (built-in), its port accepting a connection (--exec), or
 * nothing but staying up start-secs (--exec on a shared port, where any worker's socket answers the probe).
 */
type Readiness = "ipc" | "probe" | "uptime";

/** A slot's status, as `wsfleet status` carries it, with Supervisor's states. */
export type FleetWorkerStatus = WorkerStatus<ProcessState>;

export interface FleetWorkerDeps
  extends Omit<SupervisedProcessDeps, "spawn" | "readiness" | "onSpawn" | "readyDetail" | "fields"> {
  spawn(slot: Slot): ChildProcess;
  readiness: Readiness;
  /** Resolves true once the slot is ready (probe readiness: its port accepts), false when `isCancelled` turns true. */
  probeReady(slot: Slot, isCancelled: () => boolean): Promise<boolean>;
}

/** One slot of the fleet: its supervised process, and what the worker tells the primary over IPC. */
export class FleetWorker {
  readonly process: SupervisedProcess;
  private counters: Counters | undefined;

  constructor(
    readonly slot: Slot,
    deps: FleetWorkerDeps,
  ) {
    this.process = new SupervisedProcess(slot.name, {
      ...deps,
      spawn: () => deps.spawn(slot),
      readiness: deps.readiness === "uptime" ? "uptime" : "signal",
      readyDetail: `listening on port ${slot.port}`,
      fields: { port: slot.port },
      onSpawn: (child, isCurrent) => {
        this.counters = undefined;
        child.on("message", (message: unknown) => this.onMessage(child, message));
        if (deps.readiness === "probe") {
          void deps
            .probeReady(slot, () => !isCurrent())
            .then((ok) => {
              if (ok) this.process.ready(child);
            });
        }
      },
    });
  }

  get state(): ProcessState {
    return this.process.state;
  }

  status(): FleetWorkerStatus {
    return { ...this.process.status(), port: this.slot.port, counters: this.counters };
  }

  /** Rolling restart: the built-in worker drains on an IPC order (connections closed with `closeCode`). */
  replace(closeCode: number): Promise<void> {
    const order: PrimaryToWorker = { type: "drain", closeCode };
    return this.process.replace((child) => {
      if (!child.connected) return false;
      child.send(order);
      return true;
    });
  }

  /**
   * `wsfleet upgrade`: the next generation shares the port, so this worker stops accepting at once, drains (its
   * connections closed with `closeCode`, spread over --drain-spread) and exits; it does not start again.
   */
  retire(closeCode: number): Promise<void> {
    const order: PrimaryToWorker = { type: "drain", closeCode, listenersFirst: true };
    return this.process.stop((child) => {
      if (!child.connected) return false;
      child.send(order);
      return true;
    });
  }

  private onMessage(child: ChildProcess, message: unknown): void {
    if (!isWorkerMessage(message)) return;
    if (message.type === "listening") this.process.ready(child);
    if (message.type === "stats") this.counters = message.counters;
    if (message.type === "listen-failed")
      this.process.explainExit(`could not listen on ${message.host}:${message.port}`);
  }
}
