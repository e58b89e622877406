import { timingSafeEqual } from "node:crypto";
import http from "node:http";

/** Answers the request and returns true, or returns false for the next handler to try. */
export type RequestHandler = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

/** The token a request carries: `Authorization: Bearer <token>` (Prometheus' bearer_token) or `?token=` (EventSource). */
function givenToken(req: http.IncomingMessage): string {
  const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
  return bearer ?? new URL(req.url ?? "/", "http://x").searchParams.get("token") ?? "";
}

/** true when no token is required or the request has the right one; compared in constant time. */
export function hasToken(req: http.IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = Buffer.from(givenToken(req));
  const wanted = Buffer.from(token);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * One HTTP listener of the primary's (--metrics, --dashboard, or both on one port): each handler in turn, 404 when
 * none answers. Listens exclusively, so a port another process shares is an error, not a split.
 */
export function serveHttp(host: string, port: number, handlers: readonly RequestHandler[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (!handlers.some((handle) => handle(req, res))) res.writeHead(404).end("not found\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.unref();
      resolve(server);
    });
  });
}
