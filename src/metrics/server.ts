import http from "node:http";
import type { HubStatus } from "../bus/hub.js";
import type { BrokerStatus } from "../bus/redis-broker.js";
import type { WorkerStatus } from "../fleet/worker.js";
import { renderBusMetrics } from "./bus.js";
import { renderMetrics } from "./prometheus.js";

/** The primary's Prometheus endpoint: GET /metrics, the fleet's counters as the workers last reported them. */
export function serveMetrics(
  host: string,
  port: number,
  statuses: () => readonly WorkerStatus[],
  bus: () => (HubStatus & { broker: BrokerStatus | undefined }) | undefined = () => undefined,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
      const busStatus = bus();
      res.end(renderMetrics(statuses()) + (busStatus ? renderBusMetrics(busStatus, busStatus.broker) : ""));
      return;
    }
    res.writeHead(404).end("see /metrics\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => resolve(server));
  });
}
