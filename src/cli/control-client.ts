import http from "node:http";
import path from "node:path";
import { WsfleetError } from "../errors.js";
import type { RunningPrimary } from "./runtime-dir.js";
import { CONTROL_SOCKET } from "./runtime-dir.js";

const ANSWER_TIMEOUT_MS = 15_000;

/** One request to a primary's control socket; resolves with the status code and the body. */
function request(
  socketPath: string,
  method: "GET" | "POST",
  urlPath: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath, timeout: ANSWER_TIMEOUT_MS }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
    req.end();
  });
}

/** Asks `primary` over its control socket: 200 → the parsed JSON; an error it reports → that WsfleetError. */
export async function askPrimary<T>(primary: RunningPrimary, method: "GET" | "POST", urlPath: string): Promise<T> {
  if (!primary.dir) {
    throw new WsfleetError("WSFLEET_STATUS_FAILED", `primary ${primary.pid} has no runtime directory of this user`);
  }
  const answer = await request(path.join(primary.dir, CONTROL_SOCKET), method, urlPath).catch((error: Error) => {
    throw new WsfleetError("WSFLEET_STATUS_FAILED", `primary ${primary.pid} did not answer: ${error.message}`, 1);
  });
  if (answer.status === 200) return JSON.parse(answer.body) as T;
  const reported = (() => {
    try {
      return JSON.parse(answer.body) as { code?: string; message?: string; exitCode?: number };
    } catch {
      return {};
    }
  })();
  if (reported.code?.startsWith("WSFLEET_")) {
    throw new WsfleetError(
      reported.code as WsfleetError["code"],
      reported.message ?? answer.body,
      reported.exitCode ?? 1,
    );
  }
  throw new WsfleetError(
    "WSFLEET_STATUS_FAILED",
    `primary ${primary.pid} answered ${answer.status}: ${answer.body}`,
    1,
  );
}
