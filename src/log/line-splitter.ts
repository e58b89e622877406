/** Turns a stream of chunks into whole lines, so each worker line gets its prefix once, even when split across reads. */
export class LineSplitter {
  private pending = "";

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: string): void {
    const text = this.pending + chunk;
    const lines = text.split("\n");
    this.pending = lines.pop() ?? "";
    for (const line of lines) this.onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
  }

  /** A last line without a newline still counts when the stream ends. */
  flush(): void {
    if (this.pending !== "") this.onLine(this.pending);
    this.pending = "";
  }
}

/** Calls `onLine` for each line a child's stdout or stderr writes, the last one included. */
export function readLines(source: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!source) return;
  const lines = new LineSplitter(onLine);
  source.setEncoding("utf8");
  source.on("data", (chunk: string) => lines.push(chunk));
  source.on("end", () => lines.flush());
}
