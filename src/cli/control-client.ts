import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { RawOptions } from "../config/settings.js";
import { isErrorCode, WsfleetError, wsfleetError } from "../errors.js";
import { CONTROL_SOCKET, type ErrorReport } from "../protocol/control.js";
import { choosePrimary } from "./choose-primary.js";
import type { RunningPrimary } from "./find-primaries.js";

/** A command's request to the primary's control socket: the answer's status code and body. */
interface ControlAnswer {
  statusCode: number;
  body: string;
}

/** The primary a command talks to (`--pid`, or the only one running in --runtime-dir), with its control socket. */
export async function controlledPrimary(raw: RawOptions): Promise<RunningPrimary> {
  const primary = await choosePrimary(raw.pid, raw.runtimeDir);
  if (!primary.dir) {
    throw wsfleetError("noRuntimeDir", primary.pid, raw.runtimeDir ?? os.tmpdir());
  }
  return primary;
}

/**
 * One HTTP request over the control socket. `onChunk` sees the body as it arrives (`wsfleet logs -f`); `timeoutMs`
 * bounds a request that should be quick (status), while scale, restart and stop wait as long as the primary works.
 */
export function controlRequest(
  primary: RunningPrimary,
  request: string,
  {
    query,
    onChunk,
    timeoutMs,
  }: { query?: Record<string, string>; onChunk?: (chunk: string) => void; timeoutMs?: number } = {},
): Promise<ControlAnswer> {
  const socketPath = path.join(primary.dir, CONTROL_SOCKET);
  const [method, pathname] = request.split(" ");
  const requestPath = query === undefined ? pathname : `${pathname}?${new URLSearchParams(query)}`;
  return new Promise<ControlAnswer>((resolve, reject) => {
    // Its own agent: the global one's keep-alive sockets time out after 5 s, and a reload may work for longer.
    const req = http.request({ socketPath, method, path: requestPath, timeout: timeoutMs, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        if (onChunk && res.statusCode === 200) onChunk(chunk);
        else body += chunk;
      });
      res.on("end", () => resolve({ statusCode: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${(timeoutMs ?? 0) / 1000} s`)));
    req.on("error", reject);
    req.end();
  }).catch((error: Error) => {
    throw wsfleetError("primarySilent", primary.pid, error.message);
  });
}

/** A 200's body, or the primary's refusal (unknown worker: exit 1) as an error. */
export function expectOk(answer: ControlAnswer, primary: RunningPrimary): string {
  if (answer.statusCode === 200) return answer.body;
  // A refusal the primary reports as one of ours ({code, message, exitCode}, e.g. reload-cert) keeps its code.
  const reported = parseReport(answer.body);
  if (reported && isErrorCode(reported.code)) {
    throw new WsfleetError(reported.code, reported.message ?? answer.body, reported.exitCode ?? 1);
  }
  throw wsfleetError(answer.statusCode === 404 ? "unknownWorker" : "primaryRefused", primary.pid, answer.body);
}

function parseReport(body: string): Partial<ErrorReport> | undefined {
  try {
    return JSON.parse(body) as Partial<ErrorReport>;
  } catch {
    return undefined;
  }
}
