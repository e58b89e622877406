import { readFileSync } from "node:fs";
import readline from "node:readline";
import tls from "node:tls";
import WebSocket from "ws";
import { invalidOption } from "../errors.js";

/** The close codes' names, as python websockets prints them (websockets/frames.py, CLOSE_CODES). */
const CLOSE_CODE_NAMES: Readonly<Record<number, string>> = {
  1000: "OK",
  1001: "going away",
  1002: "protocol error",
  1003: "unsupported type",
  1005: "no status code [internal]",
  1006: "connection closed abnormally [internal]",
  1007: "invalid data",
  1008: "policy violation",
  1009: "message too big",
  1010: "extension required",
  1011: "unexpected error",
  1012: "service restart",
  1013: "try again later",
  1014: "bad gateway",
  1015: "TLS failure [internal]",
};

/** "1000 (OK)", "4000 (private use) reason": python websockets' `Close.__str__`. */
export function describeClose(code: number, reason: string): string {
  const explanation =
    code >= 3000 && code < 4000
      ? "registered"
      : code >= 4000 && code < 5000
        ? "private use"
        : (CLOSE_CODE_NAMES[code] ?? "unknown");
  return `${code} (${explanation})${reason ? ` ${reason}` : ""}`;
}

const ESC = "\u001b";

/** A line printed above the one being typed (python websockets' print_during_input), so typing is not disturbed. */
function duringInput(line: string): string {
  return `${ESC}7\n${ESC}[A${ESC}[L${line}\n${ESC}8${ESC}[B`;
}

/** A line printed over the prompt (python websockets' print_over_input). */
function overInput(line: string): string {
  return `\r${ESC}[K${line}\n`;
}

/** Where the client reads, writes and finds its CA certificates; the process's own in production. */
export interface ClientIo {
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** The system's CA bundle (SSL_CERT_FILE, else Debian's /etc/ssl/certs/ca-certificates.crt), for wss://. */
  caFile: string;
}

function systemCa(caFile: string): string[] | undefined {
  try {
    return [...tls.rootCertificates, readFileSync(caFile, "utf8")];
  } catch {
    return undefined;
  }
}

/**
 * `wsfleet client <url>`: python websockets' interactive client, line for line. `Connected to <url>.`, a `> `
 * prompt, `< message` for each message that arrives (`< (binary) <hex>` for binary ones), and at the end of input
 * `Connection closed: 1000 (OK).` Resolves with the exit status: 0 after a normal close (1000), 1 otherwise.
 */
export async function runClient(url: string, io: ClientIo): Promise<number> {
  if (!/^wss?:\/\//i.test(url)) {
    throw invalidOption("wsfleet client <url>", url, "a ws:// or wss:// URL, for example ws://localhost:8080/");
  }
  const { output } = io;
  const rl = readline.createInterface({ input: io.input, output, terminal: output.isTTY === true, prompt: "> " });
  const lines: string[] = [];
  let inputEnded = false;
  let wake: (() => void) | undefined;
  rl.on("line", (line) => {
    lines.push(line);
    wake?.();
    rl.prompt();
  });
  rl.on("SIGINT", () => rl.close());
  rl.on("close", () => {
    inputEnded = true;
    wake?.();
  });
  rl.prompt();
  const ws = new WebSocket(url, { ca: url.startsWith("wss") ? systemCa(io.caFile) : undefined });
  // Listening from the start: what a server sends at once (a recovery, --history) may come in the handshake's read,
  // and ws emits it right after "open", before an awaiting caller would run.
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    output.write(duringInput(isBinary ? `< (binary) ${data.toString("hex")}` : `< ${data.toString("utf8")}`));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => {
        output.write(duringInput(`Connected to ${url}.`));
        resolve();
      });
      ws.once("error", reject);
    });
  } catch (error) {
    output.write(overInput(`Failed to connect to ${url}: ${(error as Error).message}.`));
    rl.close();
    return 1;
  }
  ws.on("error", () => {});
  const closed = new Promise<[number, string]>((resolve) =>
    ws.once("close", (code: number, reason: Buffer) => resolve([code, reason.toString("utf8")])),
  );
  let serverClosed = false;
  void closed.then(() => {
    serverClosed = true;
    wake?.();
  });
  // Sends each typed line in order; at the end of input (Ctrl-D, or the pipe's end) closes with 1000.
  while (!serverClosed) {
    const line = lines.shift();
    if (line !== undefined) {
      ws.send(line);
      continue;
    }
    if (inputEnded) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  }
  if (!serverClosed) ws.close(1000);
  const [code, reason] = await closed;
  output.write(overInput(`Connection closed: ${describeClose(code, reason)}.`));
  rl.close();
  return code === 1000 ? 0 : 1;
}
