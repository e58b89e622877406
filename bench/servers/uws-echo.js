/** A bare uWebSockets.js echo on PORT: the floor a wsfleet worker is compared with (the root's uWebSockets.js). */
import uWS from "uWebSockets.js";

const port = Number(process.env.PORT);
let listenSocket = null;
uWS
  .App()
  .ws("/*", {
    compression: uWS.DISABLED,
    maxPayloadLength: 16 * 1024 * 1024,
    idleTimeout: 120,
    message: (ws, message, isBinary) => ws.send(message, isBinary),
  })
  .listen("127.0.0.1", port, (socket) => {
    if (!socket) {
      process.stderr.write(`cannot listen on ${port}\n`);
      process.exit(1);
    }
    listenSocket = socket;
  });
process.on("SIGTERM", () => {
  uWS.us_listen_socket_close(listenSocket);
  process.exit(0);
});
