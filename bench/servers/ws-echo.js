/**
 * One `ws` echo process on PORT, as a Node user would write it. On 127.0.0.1, where the bench connects: Node listens
 * on the first address a name resolves to, and where /etc/hosts lists ::1 for localhost (Debian's default) that is ::1.
 */
import { WebSocketServer } from "ws";

const port = Number(process.env.PORT);
const server = new WebSocketServer({ port, host: process.env.HOST ?? "127.0.0.1", perMessageDeflate: false });
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on("error", () => {});
});
server.on("listening", () => process.send?.("ready"));
process.on("SIGTERM", () => {
  for (const ws of server.clients) ws.close(1001);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
