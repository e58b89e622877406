export type LogFormat = "text" | "json";

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** Lifecycle events from the primary and prefixed lines from workers, as text for people or JSON lines for machines. */
export interface Logger {
  /** A primary event: `event` is a stable machine name (spawned, ready, exited, backoff, fatal...). */
  event(level: "info" | "warn" | "error", event: string, message: string, fields?: LogFields): void;
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

export function createLogger(
  format: LogFormat,
  sink: LogSink = processSink,
  now: () => Date = () => new Date(),
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
      sink.stderr(`${now().toISOString()} ${tag} ${message}\n`);
    },
    workerLine(processName, stream, line) {
      (stream === "stdout" ? sink.stdout : sink.stderr)(`${processName} | ${line}\n`);
    },
  };
}
