// A chat room for wsfleet: `node dist/primary.js --app ./examples/chat-room.js`.
// Connect to ws://localhost:8000/chat?room=lobby; every message goes to everyone in the same room, on every worker
// of the fleet, and with `--broker redis://...` on every fleet of the same --name on that Redis.
//
// With `--history <n>` (docs/recovery.md) each message arrives as the text frame
//   {"room":"lobby","epoch":"…","offset":12,"data":"<the sender's text>"}
// and a client that reconnects with ?room=lobby&epoch=…&offset=12 first gets every message after offset 12. When that
// cannot be (another epoch, too old, a future or malformed offset) it first gets
//   {"room":"lobby","recovered":false,"epoch":"…","offset":<current>}
// and the live messages after that offset. Without --history messages arrive as they were sent, as before.

/** @type {import("wsfleet").Fleet} */
let fleet;

/** @type {import("wsfleet").WsfleetApp<{ room: string, since: import("wsfleet").SincePosition | undefined }>} */
const chatRoom = {
  path: "/chat",
  setup(handle) {
    fleet = handle;
  },
  userData(request) {
    const query = new URLSearchParams(request.query);
    const since =
      query.has("epoch") || query.has("offset")
        ? { epoch: query.get("epoch"), offset: query.get("offset") }
        : undefined;
    return { room: query.get("room") || "lobby", since };
  },
  open(ws) {
    const { room, since } = ws.getUserData();
    // Recovered messages first, then the live ones; at the seam, a client that must resync is told where the room is.
    fleet.subscribe(ws, room, since, ({ recovered, position }) => {
      if (!recovered && position) ws.send(JSON.stringify({ room, recovered: false, ...position }));
    });
  },
  message(ws, message, isBinary) {
    // Everyone in the room, the sender included, on every worker and host; the message is copied before it returns.
    fleet.publish(ws.getUserData().room, message, isBinary);
  },
  // Made once per message in each worker, not per subscriber (--history only).
  envelope: ({ topic, epoch, offset, payload }) =>
    JSON.stringify({ room: topic, epoch, offset, data: payload.toString() }),
  routes(app) {
    app.get("/whoami", (res) => res.end(`${fleet.workerName}\n`));
  },
};

export default chatRoom;
