import { chmodSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { MAX_WORKERS } from "../config/settings.js";
import { WsfleetError } from "../errors.js";
import { type LogEntry, type LogRing, PRIMARY_SOURCE } from "../log/ring.js";
import {
  type CertificateReloaded,
  CONTROL_REQUESTS,
  CONTROL_SOCKET,
  DEFAULT_LOG_LINES,
  type ErrorReport,
  type FleetStatus,
  type Reloaded,
  type Upgraded,
} from "../protocol/control.js";

/** What the control socket can ask of the running primary: the Primary's own methods, the fleet's state, its logs. */
export interface Controls {
  status(): Promise<FleetStatus>;
  scale(count: number): Promise<void>;
  /** false when no worker has that name. */
  restart(name: string): Promise<boolean>;
  stop(): Promise<void>;
  /** `hook` runs with the exit code just before the primary exits. */
  beforeExit(hook: (exitCode: number) => Promise<void>): void;
  logs: LogRing;
  reloadCertificate(): Promise<CertificateReloaded>;
  /** `wsfleet reload`: rejects, having changed nothing, when the config file is refused. */
  reload(): Promise<Reloaded>;
  /** `wsfleet upgrade`: resolves once the new primary serves; rejects (nothing changed, or it failed) with why. */
  upgrade(): Promise<Upgraded>;
}

/** A line of `wsfleet logs` without a name: every source, so each line says whose it is. */
function formatLogEntry(entry: LogEntry, named: boolean): string {
  return named || entry.source === PRIMARY_SOURCE ? `${entry.text}\n` : `${entry.source} | ${entry.text}\n`;
}

function sendJson(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function fail(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { "content-type": "text/plain" }).end(message);
}

/** The names `wsfleet restart` and `wsfleet logs` accept, for the message when a name is not one of them. */
function knownNames(status: FleetStatus): string[] {
  return [...status.workers.map((worker) => worker.name), ...(status.haproxy ? ["haproxy"] : [])];
}

async function handleScale(controls: Controls, url: URL, res: http.ServerResponse): Promise<void> {
  const count = Number(url.searchParams.get("workers"));
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_WORKERS) {
    fail(res, 400, `expected a whole number of workers from 1 to ${MAX_WORKERS}`);
    return;
  }
  await controls.scale(count);
  sendJson(res, 200, await controls.status());
}

async function handleRestart(controls: Controls, url: URL, res: http.ServerResponse): Promise<void> {
  const name = url.searchParams.get("name") ?? "";
  if (!(await controls.restart(name))) {
    const workers = (await controls.status()).workers.map((worker) => worker.name);
    fail(res, 404, `no worker named ${JSON.stringify(name)}; workers: ${workers.join(", ")} (or all)`);
    return;
  }
  sendJson(res, 200, await controls.status());
}

/** The response stays open until the primary has stopped everything, then carries its exit code. */
function handleStop(controls: Controls, res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.flushHeaders();
  controls.beforeExit(
    (exitCode) =>
      new Promise((resolve) => {
        const timer = setTimeout(resolve, 1000);
        res.end(JSON.stringify({ exitCode }), () => {
          clearTimeout(timer);
          resolve();
        });
      }),
  );
  void controls.stop();
}

async function handleLogs(
  controls: Controls,
  url: URL,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const name = url.searchParams.get("name") ?? undefined;
  if (name !== undefined && name !== PRIMARY_SOURCE) {
    const names = knownNames(await controls.status());
    if (!names.includes(name)) {
      fail(res, 404, `no worker named ${JSON.stringify(name)}; workers: ${names.join(", ")} (or primary)`);
      return;
    }
  }
  const lines = Number(url.searchParams.get("lines") ?? DEFAULT_LOG_LINES);
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
  for (const entry of controls.logs.tail(name, lines)) res.write(formatLogEntry(entry, name !== undefined));
  if (url.searchParams.get("follow") !== "1") {
    res.end();
    return;
  }
  const stop = controls.logs.follow((entry) => {
    if (name === undefined || entry.source === name) res.write(formatLogEntry(entry, name !== undefined));
  });
  req.socket.on("close", stop);
  controls.beforeExit(async () => {
    stop();
    res.end();
  });
}

async function route(controls: Controls, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://control");
  const key = `${req.method} ${url.pathname}`;
  if (key === CONTROL_REQUESTS.status) sendJson(res, 200, await controls.status());
  else if (key === CONTROL_REQUESTS.scale) await handleScale(controls, url, res);
  else if (key === CONTROL_REQUESTS.restart) await handleRestart(controls, url, res);
  else if (key === CONTROL_REQUESTS.stop) handleStop(controls, res);
  else if (key === CONTROL_REQUESTS.logs) await handleLogs(controls, url, req, res);
  else if (key === CONTROL_REQUESTS.reloadCertificate) await answerOrRefuse(res, () => controls.reloadCertificate());
  else if (key === CONTROL_REQUESTS.reload) await answerOrRefuse(res, () => controls.reload());
  else if (key === CONTROL_REQUESTS.upgrade) await answerOrRefuse(res, () => controls.upgrade());
  else fail(res, 404, `no such control request: ${key}`);
}

/** `wsfleet reload-cert` and `reload`: 200 with what was done, or 409 with the refusal as {code, message, exitCode}. */
async function answerOrRefuse(res: http.ServerResponse, work: () => Promise<unknown>): Promise<void> {
  try {
    sendJson(res, 200, await work());
  } catch (error) {
    res.writeHead(409, { "content-type": "application/json" }).end(errorBody(error));
  }
}

/** An error as the client re-raises it: our WsfleetError keeps its code and exit code, anything else exits 1. */
function errorBody(error: unknown): string {
  const report: ErrorReport =
    error instanceof WsfleetError
      ? { code: error.code, message: error.message, exitCode: error.exitCode }
      : { code: "WSFLEET_STATUS_FAILED", message: (error as Error).message, exitCode: 1 };
  return JSON.stringify(report);
}

/**
 * The primary's control socket: HTTP on a unix socket in its private runtime directory (mode 700, so only this
 * user), answering protocol/control.ts's CONTROL_REQUESTS.
 */
export function serveControl(runtimeDir: string, controls: Controls): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    route(controls, req, res).catch((error: Error) => {
      if (res.headersSent) res.end();
      else fail(res, 500, error.message);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const socketPath = path.join(runtimeDir, CONTROL_SOCKET);
    server.listen(socketPath, () => {
      chmodSync(socketPath, 0o600);
      server.unref();
      resolve(server);
    });
  });
}
