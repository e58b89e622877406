import http from "node:http";
import path from "node:path";
import type { HubStatus } from "../bus/hub.js";
import type { BrokerStatus } from "../bus/redis-broker.js";
import type { WorkerStatus } from "../fleet/worker.js";
import type { BalancerStatus } from "../haproxy/balancer.js";
import { CONTROL_SOCKET } from "./runtime-dir.js";

/** What `wsfleet status` shows: the primary, every worker slot, and HAProxy when it runs one. */
export interface FleetStatus {
  pid: number;
  startedAt: string;
  workers: WorkerStatus[];
  haproxy: BalancerStatus | undefined;
  /** The embedded bus (built-in workers), and the broker with --broker. */
  bus: BusStatus | undefined;
}

interface BusStatus extends HubStatus {
  broker: BrokerStatus | undefined;
}

/**
 * The primary's control socket: HTTP on a unix socket in its private runtime directory (mode 700, so only this
 * user), `GET /status` → FleetStatus as JSON.
 */
export function serveControl(runtimeDir: string, status: () => Promise<FleetStatus>): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== "GET" || req.url !== "/status") {
      res.writeHead(404).end();
      return;
    }
    status().then(
      (body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      },
      (error: Error) => res.writeHead(500).end(error.message),
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
