import type { RefusalReason } from "./refusals.js";

/** At most one line a second, whatever the flood. */
const LOG_INTERVAL_MS = 1000;

/** What the log needs of time: injected, so the summary is tested without waiting. */
export interface LogTimer {
  setTimeout(callback: () => void, ms: number): void;
}

/**
 * Refused handshakes, logged once a second at most: the first at once, with its details; those that follow within
 * the second as one summary line at its end, counted by reason with the last details of each.
 */
export class RefusalLog {
  private windowOpen = false;
  private readonly pending = new Map<RefusalReason, { count: number; lastDetail: string }>();

  constructor(
    private readonly write: (line: string) => void,
    private readonly timer: LogTimer,
  ) {}

  note(reason: RefusalReason, detail: string): void {
    if (!this.windowOpen) {
      this.write(`refused a handshake: ${reason} (${detail})`);
      this.openWindow();
      return;
    }
    const entry = this.pending.get(reason);
    if (entry) {
      entry.count += 1;
      entry.lastDetail = detail;
    } else this.pending.set(reason, { count: 1, lastDetail: detail });
  }

  private openWindow(): void {
    this.windowOpen = true;
    this.timer.setTimeout(() => this.endWindow(), LOG_INTERVAL_MS);
  }

  private endWindow(): void {
    if (this.pending.size === 0) {
      this.windowOpen = false;
      return;
    }
    let total = 0;
    const parts: string[] = [];
    for (const [reason, { count, lastDetail }] of this.pending) {
      total += count;
      parts.push(`${reason} ${count} (last: ${lastDetail})`);
    }
    this.pending.clear();
    this.write(`refused ${total} more handshake${total === 1 ? "" : "s"} in the last second: ${parts.join(", ")}`);
    this.openWindow();
  }
}
