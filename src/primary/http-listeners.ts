import type { Options } from "../config/validate.js";
import type { RequestHandler } from "../net/http-server.js";

/** One HTTP listener of the primary's: where, the option that asked for it, and what it serves there. */
export interface HttpListener {
  readonly host: string;
  readonly port: number;
  readonly option: "--metrics" | "--dashboard";
  readonly handlers: readonly RequestHandler[];
}

/**
 * The --metrics and --dashboard listeners: one when they name the same port, else one each. Sharing the dashboard's
 * port, /metrics asks for its token too (Prometheus: `authorization: credentials`). Pure: the handlers come in.
 */
export function httpListeners(
  options: Pick<Options, "metrics" | "dashboard">,
  handlers: {
    metrics: (token: string | undefined) => RequestHandler;
    dashboard: RequestHandler | undefined;
  },
): HttpListener[] {
  const { metrics, dashboard } = options;
  const shared = metrics && dashboard && metrics.port === dashboard.port;
  const listeners: HttpListener[] = [];
  if (metrics) {
    const served = [handlers.metrics(shared ? dashboard.token : undefined)];
    if (shared && handlers.dashboard) served.push(handlers.dashboard);
    listeners.push({ host: metrics.host, port: metrics.port, option: "--metrics", handlers: served });
  }
  if (dashboard && !shared && handlers.dashboard) {
    listeners.push({
      host: dashboard.host,
      port: dashboard.port,
      option: "--dashboard",
      handlers: [handlers.dashboard],
    });
  }
  return listeners;
}
