import { fstatSync } from "node:fs";

export type LogFormat = "text" | "json";

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export type LogLevel = "info" | "warn" | "error";

/** Lifecycle events from the primary and prefixed lines from workers, as text for people or JSON lines for machines. */
export interface Logger {
  /** A primary event: `event` is a stable machine name (spawned, ready, exited, backoff, fatal...). */
  event(level: LogLevel, event: string, message: string, fields?: LogFields): void;
  /** One line a worker wrote. */
  workerLine(processName: string, stream: "stdout" | "stderr", line: string): void;
}

export interface LogSink {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processSink: LogSink = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** sd-daemon(3)'s priority prefixes: journald reads `<N>` at the start of a line as its syslog level. */
const JOURNAL_PRIORITY = { error: "<3>", warn: "<4>", info: "<6>" } as const;

/**
 * True when `fd` is the journal stream systemd connected: JOURNAL_STREAM holds its `device:inode`, and comparing
 * them (as systemd.exec(5) advises) ignores a JOURNAL_STREAM inherited by a process whose stderr went elsewhere.
 */
export function isJournalStream(journalStream: string | undefined, fd = 2): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? "");
  if (!match) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1] as string) && stat.ino === BigInt(match[2] as string);
  } catch {
    return false;
  }
}

export interface LoggerOptions {
  /** Under systemd (isJournalStream): no timestamp, since the journal adds its own, and a `<N>` priority prefix. */
  journal?: boolean;
}

export function createLogger(
  format: LogFormat,
  sink: LogSink = processSink,
  now: () => Date = () => new Date(),
  { journal = false }: LoggerOptions = {},
): Logger {
  if (format === "json") {
    return {
      event(level, event, message, fields = {}) {
        sink.stdout(`${JSON.stringify({ time: now().toISOString(), level, event, message, ...fields })}\n`);
      },
      workerLine(processName, stream, line) {
        const record = { time: now().toISOString(), level: "info", event: "output", worker: processName, stream, line };
        sink.stdout(`${JSON.stringify(record)}\n`);
      },
    };
  }
  return {
    event(level, _event, message) {
      const tag = level === "info" ? "INFO" : level === "warn" ? "WARN" : "ERROR";
      const prefix = journal ? JOURNAL_PRIORITY[level] : `${now().toISOString()} `;
      sink.stderr(`${prefix}${tag} ${message}\n`);
    },
    workerLine(processName, stream, line) {
      (stream === "stdout" ? sink.stdout : sink.stderr)(`${processName} | ${line}\n`);
    },
  };
}
