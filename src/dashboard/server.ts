import { readFileSync } from "node:fs";
import type http from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { hasToken, type RequestHandler } from "../net/http-server.js";
import type { BalancerStatus, WorkerStatus } from "../protocol/control.js";
import { type DashboardFrame, Sampler } from "./samples.js";

/** The page is fed once a second (the workers report their counters once a second too). */
const TICK_MS = 1000;

/** What the dashboard watches. */
export interface DashboardSource {
  primaryPid: number;
  snapshot(): Promise<{ workers: readonly WorkerStatus[]; haproxy: BalancerStatus | undefined }>;
}

interface StaticFile {
  type: string;
  body: Buffer;
}

/** The page, its script and style, and uPlot from our own node_modules: nothing comes from the internet. */
function staticFiles(): Map<string, StaticFile> {
  const publicDir = fileURLToPath(new URL("./public/", import.meta.url));
  const require = createRequire(import.meta.url);
  const file = (path: string, type: string): StaticFile => ({ type, body: readFileSync(path) });
  const html = file(`${publicDir}index.html`, "text/html; charset=utf-8");
  return new Map([
    ["/", html],
    ["/index.html", html],
    ["/dashboard.js", file(`${publicDir}dashboard.js`, "text/javascript; charset=utf-8")],
    ["/dashboard.css", file(`${publicDir}dashboard.css`, "text/css; charset=utf-8")],
    ["/uPlot.iife.min.js", file(require.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8")],
    ["/uPlot.min.css", file(require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8")],
  ]);
}

/**
 * `--dashboard`: a live page of the fleet, fed by server-sent events once a second: one row per worker (and
 * HAProxy), and charts of connections and messages/s for the last 5 minutes. With a token, /events and /auth
 * ask for it; the static files are the same for everyone and carry no data.
 */
export class Dashboard {
  private readonly files = staticFiles();
  private readonly sampler = new Sampler();
  private readonly clients = new Set<http.ServerResponse>();
  private latest: DashboardFrame | undefined;

  constructor(
    private readonly source: DashboardSource,
    private readonly token: string | undefined,
  ) {
    // Unref'd: the dashboard lives as long as the primary, and never keeps it alive.
    setInterval(() => this.tick(), TICK_MS).unref();
    this.tick();
  }

  readonly handler: RequestHandler = (req, res) => {
    if (req.method !== "GET") return false;
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const file = this.files.get(path);
    if (file) {
      res.writeHead(200, { "content-type": file.type, "cache-control": "no-cache" }).end(file.body);
      return true;
    }
    if (path !== "/events" && path !== "/auth") return false;
    if (!hasToken(req, this.token)) {
      res.writeHead(401, { "content-type": "text/plain" }).end("this dashboard asks for its --dashboard-token\n");
    } else if (path === "/auth") {
      res.writeHead(204).end();
    } else {
      this.subscribe(req, res);
    }
    return true;
  };

  private subscribe(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.write(`event: history\ndata: ${JSON.stringify({ pid: this.source.primaryPid, ...this.sampler.history })}\n\n`);
    if (this.latest) res.write(`data: ${JSON.stringify(this.latest)}\n\n`);
    this.clients.add(res);
    req.socket.on("close", () => this.clients.delete(res));
  }

  /** One sample, sent to every open page; a failed snapshot skips this second rather than stopping the primary. */
  private tick(): void {
    this.source.snapshot().then(
      ({ workers, haproxy }) => {
        this.latest = this.sampler.sample(workers, haproxy, Date.now());
        const message = `data: ${JSON.stringify(this.latest)}\n\n`;
        for (const res of this.clients) res.write(message);
      },
      () => {},
    );
  }
}
