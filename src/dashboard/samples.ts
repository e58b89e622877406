import type { BalancerStatus, WorkerStatus } from "../protocol/control.js";
import { sumCounters } from "../protocol/counters.js";

/** One worker's row on the dashboard. */
export interface WorkerRow {
  name: string;
  state: string;
  pid: number | null;
  port: number;
  uptimeMs: number | null;
  restarts: number;
  connections: number | null;
  messagesPerSec: number | null;
}

/** What the page gets once a second. */
export interface DashboardFrame {
  time: number;
  workers: WorkerRow[];
  haproxy: BalancerStatus | null;
  /** The fleet's totals, one point of the charts. */
  connections: number;
  messagesPerSec: number;
  /** Handshakes the workers refused, by reason (origin, conns-per-ip...), since each started. */
  refused: Record<string, number>;
}

/** The charts' last 5 minutes: parallel arrays, as uPlot takes them (times in seconds). */
export interface History {
  times: number[];
  connections: number[];
  messagesPerSec: number[];
}

const HISTORY_POINTS = 300;

/** Workers report their counters once a second, out of step with our ticks: a rate over 3 s smooths that out. */
const RATE_WINDOW_SAMPLES = 4;

/** The previous sample of a worker: messages received by that pid, at that time. */
interface Previous {
  pid: number | undefined;
  messages: number;
  timeMs: number;
}

/**
 * Turns the workers' statuses, sampled once a second, into the dashboard's frames: messages/s from the change in
 * each worker's received count since the last sample (a new pid starts from zero), and a 5-minute history. Pure
 * but for its own memory: the time comes in with each sample.
 */
export class Sampler {
  private readonly previous = new Map<string, Previous[]>();
  readonly history: History = { times: [], connections: [], messagesPerSec: [] };

  sample(workers: readonly WorkerStatus[], haproxy: BalancerStatus | undefined, nowMs: number): DashboardFrame {
    const rows = workers.map((worker) => this.row(worker, nowMs));
    for (const name of this.previous.keys()) {
      if (!workers.some((worker) => worker.name === name)) this.previous.delete(name);
    }
    const frame: DashboardFrame = {
      time: nowMs,
      workers: rows,
      haproxy: haproxy ?? null,
      connections: rows.reduce((sum, row) => sum + (row.connections ?? 0), 0),
      messagesPerSec: rows.reduce((sum, row) => sum + (row.messagesPerSec ?? 0), 0),
      refused: sumCounters(workers.flatMap((worker) => (worker.counters ? [worker.counters] : []))).refused,
    };
    const { history } = this;
    history.times.push(nowMs / 1000);
    history.connections.push(frame.connections);
    history.messagesPerSec.push(frame.messagesPerSec);
    if (history.times.length > HISTORY_POINTS) {
      history.times.shift();
      history.connections.shift();
      history.messagesPerSec.shift();
    }
    return frame;
  }

  private row(worker: WorkerStatus, nowMs: number): WorkerRow {
    const messages = worker.counters?.messagesIn;
    let messagesPerSec: number | null = null;
    if (messages !== undefined) {
      // A new pid (restart) counts from zero: its predecessor's samples are dropped.
      const samples = (this.previous.get(worker.name) ?? []).filter(
        (each) => each.pid === worker.pid && each.messages <= messages,
      );
      const oldest = samples[0];
      const elapsedMs = oldest ? nowMs - oldest.timeMs : 0;
      messagesPerSec = oldest && elapsedMs > 0 ? Math.round(((messages - oldest.messages) * 1000) / elapsedMs) : 0;
      samples.push({ pid: worker.pid, messages, timeMs: nowMs });
      this.previous.set(worker.name, samples.slice(-RATE_WINDOW_SAMPLES));
    }
    return {
      name: worker.name,
      state: worker.state,
      pid: worker.pid ?? null,
      port: worker.port,
      uptimeMs: worker.state === "RUNNING" && worker.startedAt !== undefined ? nowMs - worker.startedAt : null,
      restarts: worker.restarts,
      connections: worker.counters?.connectionsOpen ?? null,
      messagesPerSec,
    };
  }
}
