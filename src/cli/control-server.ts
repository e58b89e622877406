import http from "node:http";
import path from "node:path";
import { WsfleetError } from "../errors.js";
import type { WorkerStatus } from "../fleet/worker.js";
import type { BalancerStatus } from "../haproxy/balancer.js";
import { CONTROL_SOCKET } from "./runtime-dir.js";

/** What `wsfleet status` shows: the primary, every worker slot, and HAProxy when it runs one. */
export interface FleetStatus {
  pid: number;
  startedAt: string;
  workers: WorkerStatus[];
  haproxy: BalancerStatus | undefined;
}

/** What `wsfleet reload-cert` prints: which certificate now serves, and how. */
export interface CertificateReloaded {
  serial: string;
  message: string;
}

export interface ControlHandlers {
  status(): Promise<FleetStatus>;
  reloadCertificate(): Promise<CertificateReloaded>;
}

/** An error as the client re-raises it: our WsfleetError keeps its code and exit code, anything else exits 1. */
function errorBody(error: unknown): string {
  if (error instanceof WsfleetError) {
    return JSON.stringify({ code: error.code, message: error.message, exitCode: error.exitCode });
  }
  return JSON.stringify({ code: "WSFLEET_STATUS_FAILED", message: (error as Error).message, exitCode: 1 });
}

/**
 * The primary's control socket: HTTP on a unix socket in its private runtime directory (mode 700, so only this
 * user): `GET /status` → FleetStatus, `POST /reload-cert` → CertificateReloaded, errors as {code, message, exitCode}.
 */
export function serveControl(runtimeDir: string, handlers: ControlHandlers): Promise<http.Server> {
  const routes: Record<string, () => Promise<unknown>> = {
    "GET /status": () => handlers.status(),
    "POST /reload-cert": () => handlers.reloadCertificate(),
  };
  const server = http.createServer((req, res) => {
    const route = routes[`${req.method} ${req.url}`];
    if (!route) {
      res.writeHead(404).end();
      return;
    }
    route().then(
      (body) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body)),
      (error: unknown) => res.writeHead(409, { "content-type": "application/json" }).end(errorBody(error)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path.join(runtimeDir, CONTROL_SOCKET), () => {
      server.unref();
      resolve(server);
    });
  });
}
