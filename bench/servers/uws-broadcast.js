// The broadcast bench's bare uWebSockets.js server: the floor wsfleet's publish is measured against.
// `?room=NAME` subscribes, a message from a `?publishTo=NAME` client is app.publish'ed to that room. With REDIS_URL,
// N such processes are joined the way uWebSockets.js' authors advise for several processes: each publish also goes
// to one Redis channel (prefixed with this process' id), and what the others publish there is app.publish'ed here.

import uWS from "uWebSockets.js";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

const { PORT, HOST = "127.0.0.1", REDIS_URL } = process.env;
const CHANNEL = "uws-bench";
const ID_BYTES = 8;
const id = randomBytes(ID_BYTES);

let publishRemote = null;
if (REDIS_URL) {
  const pub = new Redis(REDIS_URL);
  const sub = new Redis(REDIS_URL);
  await sub.subscribe(CHANNEL);
  // One frame on the channel: the sender's id, a u16 topic length, the topic, the message.
  sub.on("messageBuffer", (_channel, frame) => {
    if (frame.compare(id, 0, ID_BYTES, 0, ID_BYTES) === 0) return;
    const topicBytes = frame.readUInt16BE(ID_BYTES);
    const topic = frame.toString("latin1", ID_BYTES + 2, ID_BYTES + 2 + topicBytes);
    app.publish(topic, frame.subarray(ID_BYTES + 2 + topicBytes), false);
  });
  publishRemote = (topic, message) => {
    const head = Buffer.allocUnsafe(ID_BYTES + 2);
    id.copy(head, 0);
    head.writeUInt16BE(topic.length, ID_BYTES);
    pub.publish(CHANNEL, Buffer.concat([head, Buffer.from(topic, "latin1"), Buffer.from(message)]));
  };
}

let listenSocket = null;
const app = uWS.App().ws("/*", {
  compression: uWS.DISABLED,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    const query = new URLSearchParams(req.getQuery() ?? "");
    res.upgrade(
      { room: query.get("room"), publishTo: query.get("publishTo") },
      req.getHeader("sec-websocket-key"),
      req.getHeader("sec-websocket-protocol"),
      req.getHeader("sec-websocket-extensions"),
      context,
    );
  },
  open: (ws) => {
    const { room } = ws.getUserData();
    if (room) ws.subscribe(room);
  },
  message: (ws, message, isBinary) => {
    const { publishTo } = ws.getUserData();
    if (!publishTo) return;
    app.publish(publishTo, message, isBinary);
    publishRemote?.(publishTo, message);
  },
});
app.listen(HOST, Number(PORT), (socket) => {
  if (!socket) {
    process.stderr.write(`cannot listen on ${HOST}:${PORT}\n`);
    process.exit(1);
  }
  listenSocket = socket;
  console.log(`listening on ${HOST}:${PORT}`);
});
process.on("SIGTERM", () => {
  uWS.us_listen_socket_close(listenSocket);
  process.exit(0);
});
