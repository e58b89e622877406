// The broadcast bench's socket.io server: `?room=NAME` joins, a `p` event from a `?publishTo=NAME` client is emitted
// as `m` to that room. ADAPTER=cluster: WORKERS node cluster workers on PORT with @socket.io/cluster-adapter;
// ADAPTER=redis: one process on HOST:PORT with @socket.io/redis-adapter on REDIS_URL.
import cluster from "node:cluster";
import http from "node:http";
import { createAdapter as createClusterAdapter, setupPrimary } from "@socket.io/cluster-adapter";
import { createAdapter as createRedisAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const { ADAPTER, PORT, HOST = "127.0.0.1", WORKERS = "2", REDIS_URL } = process.env;

function serve(adapter) {
  // io.listen() binds every address; two servers on 127.0.0.2 and 127.0.0.3 need their own host.
  const server = http.createServer();
  const io = new Server(server, { transports: ["websocket"], serveClient: false, adapter });
  io.on("connection", (socket) => {
    const { room, publishTo } = socket.handshake.query;
    if (room) socket.join(room);
    if (publishTo) socket.on("p", (data) => io.to(publishTo).emit("m", data));
  });
  server.listen(Number(PORT), HOST, () => console.log(`listening on ${HOST}:${PORT}`));
}

if (ADAPTER === "cluster" && cluster.isPrimary) {
  setupPrimary();
  let listening = 0;
  for (let i = 0; i < Number(WORKERS); i += 1) {
    cluster.fork().on("listening", () => {
      listening += 1;
      if (listening === Number(WORKERS)) console.log("all workers listening");
    });
  }
} else if (ADAPTER === "cluster") {
  serve(createClusterAdapter());
} else {
  const pub = new Redis(REDIS_URL);
  serve(createRedisAdapter(pub, pub.duplicate()));
}
