import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { RawOptions } from "../config/settings.js";
import { WsfleetError } from "../errors.js";
import { choosePrimary } from "./choose-primary.js";
import { CONTROL_SOCKET, type RunningPrimary } from "./runtime-dir.js";

/** A command's request to the primary's control socket: the answer's status code and body. */
interface ControlAnswer {
  statusCode: number;
  body: string;
}

/** The primary a command talks to (`--pid`, or the only one running in --runtime-dir), with its control socket. */
export async function controlledPrimary(raw: RawOptions): Promise<RunningPrimary> {
  const primary = await choosePrimary(raw.pid, raw.runtimeDir);
  if (!primary.dir) {
    throw new WsfleetError(
      "WSFLEET_STATUS_FAILED",
      `primary ${primary.pid} has no runtime directory of this user in ${raw.runtimeDir ?? os.tmpdir()}; pass the --runtime-dir it was started with (a systemd unit: /run/wsfleet)`,
    );
  }
  return primary;
}

/**
 * One HTTP request over the control socket. `onChunk` sees the body as it arrives (`wsfleet logs -f`); `timeoutMs`
 * bounds a request that should be quick (status), while scale, restart and stop wait as long as the primary works.
 */
export function controlRequest(
  primary: RunningPrimary,
  method: "GET" | "POST",
  requestPath: string,
  { onChunk, timeoutMs }: { onChunk?: (chunk: string) => void; timeoutMs?: number } = {},
): Promise<ControlAnswer> {
  const socketPath = path.join(primary.dir, CONTROL_SOCKET);
  return new Promise<ControlAnswer>((resolve, reject) => {
    const req = http.request({ socketPath, method, path: requestPath, timeout: timeoutMs }, (res) => {
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
    throw new WsfleetError("WSFLEET_STATUS_FAILED", `primary ${primary.pid} did not answer: ${error.message}`, 1);
  });
}

/** A 200's body, or the primary's refusal (unknown worker: exit 1) as an error. */
export function expectOk(answer: ControlAnswer, primary: RunningPrimary): string {
  if (answer.statusCode === 200) return answer.body;
  // A refusal the primary reports as one of ours ({code, message, exitCode}, e.g. reload-cert) keeps its code.
  const reported = parseReport(answer.body);
  if (reported?.code?.startsWith("WSFLEET_")) {
    throw new WsfleetError(
      reported.code as WsfleetError["code"],
      reported.message ?? answer.body,
      reported.exitCode ?? 1,
    );
  }
  const code = answer.statusCode === 404 ? "WSFLEET_UNKNOWN_WORKER" : "WSFLEET_STATUS_FAILED";
  throw new WsfleetError(code, `primary ${primary.pid}: ${answer.body}`, 1);
}

function parseReport(body: string): { code?: string; message?: string; exitCode?: number } | undefined {
  try {
    return JSON.parse(body) as { code?: string; message?: string; exitCode?: number };
  } catch {
    return undefined;
  }
}
