/** One `ws` echo process on PORT (127.0.0.1 and ::1 via localhost), as a Node user would write it. */
import { WebSocketServer } from "ws";

const port = Number(process.env.PORT);
const server = new WebSocketServer({ port, host: process.env.HOST ?? "localhost", perMessageDeflate: false });
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
