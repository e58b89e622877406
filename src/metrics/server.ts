import type { RequestHandler } from "../net/http-server.js";
import { hasToken } from "../net/http-server.js";

/** The text exposition's content type: prom-client's Registry.PROMETHEUS_CONTENT_TYPE (a unit test checks it), so serving needs no prom-client loaded. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** GET /metrics: the fleet's counters as the workers last reported them; the token too when one is set. */
export function metricsHandler(render: () => Promise<string>, token: string | undefined): RequestHandler {
  return (req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    if (!hasToken(req, token)) {
      res.writeHead(401, { "www-authenticate": "Bearer" }).end("a token is required: Authorization: Bearer <token>\n");
      return true;
    }
    render().then(
      (text) => res.writeHead(200, { "content-type": METRICS_CONTENT_TYPE }).end(text),
      (error: Error) => res.writeHead(500).end(error.message),
    );
    return true;
  };
}
