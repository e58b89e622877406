// A chat room for wsfleet: `node dist/primary.js --app ./examples/chat-room.js`.
// Connect to ws://localhost:8000/chat?room=lobby; every message goes to everyone in the same room, on every worker
// of the fleet, and with `--broker redis://...` on every fleet of the same --name on that Redis.

/** @type {import("wsfleet").Fleet} */
let fleet;

/** @type {import("wsfleet").WsfleetApp<{ room: string }>} */
const chatRoom = {
  path: "/chat",
  setup(handle) {
    fleet = handle;
  },
  userData: (request) => ({ room: new URLSearchParams(request.query).get("room") || "lobby" }),
  open(ws) {
    ws.subscribe(ws.getUserData().room);
  },
  message(ws, message, isBinary) {
    // Everyone in the room, the sender included, on every worker and host; the message is copied before it returns.
    fleet.publish(ws.getUserData().room, message, isBinary);
  },
  routes(app) {
    app.get("/whoami", (res) => res.end(`${fleet.workerName}\n`));
  },
};

export default chatRoom;
