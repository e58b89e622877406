import type { Logger } from "./logger.js";

/** One line kept for `wsfleet logs`: who wrote it (a worker's name, or "primary" for events) and the text. */
export interface LogEntry {
  readonly seq: number;
  readonly source: string;
  readonly text: string;
}

/** The source of the primary's own events in the ring. */
export const PRIMARY_SOURCE = "primary";

/**
 * The last lines of each source, kept in the primary for `wsfleet logs` (supervisorctl's tail, PM2's logs), with
 * followers told of every new line. Memory is bounded: `linesPerSource` a source.
 */
export class LogRing {
  private readonly bySource = new Map<string, LogEntry[]>();
  private readonly followers = new Set<(entry: LogEntry) => void>();
  private seq = 0;

  constructor(private readonly linesPerSource: number) {}

  push(source: string, text: string): void {
    const entry: LogEntry = { seq: this.seq++, source, text };
    let lines = this.bySource.get(source);
    if (!lines) {
      lines = [];
      this.bySource.set(source, lines);
    }
    lines.push(entry);
    if (lines.length > this.linesPerSource) lines.shift();
    for (const follower of this.followers) follower(entry);
  }

  /** The last `count` lines of `source`, or of every source interleaved in the order they came. */
  tail(source: string | undefined, count: number): LogEntry[] {
    const lines =
      source === undefined
        ? [...this.bySource.values()].flat().sort((a, b) => a.seq - b.seq)
        : (this.bySource.get(source) ?? []);
    return lines.slice(-count);
  }

  /** Calls `follower` with every line from now on; returns the function that stops it. */
  follow(follower: (entry: LogEntry) => void): () => void {
    this.followers.add(follower);
    return () => this.followers.delete(follower);
  }
}

/** A logger that also keeps every line in `ring`, as the text log shows it. */
export function keepingLines(logger: Logger, ring: LogRing, now: () => Date = () => new Date()): Logger {
  return {
    event(level, event, message, fields) {
      logger.event(level, event, message, fields);
      ring.push(PRIMARY_SOURCE, `${now().toISOString()} ${level.toUpperCase()} ${message}`);
    },
    workerLine(processName, stream, line) {
      logger.workerLine(processName, stream, line);
      ring.push(processName, line);
    },
  };
}
