// A chat room for wsfleet: `node dist/primary.js --app ./examples/chat-room.js`.
// Connect to ws://localhost:8000/chat?room=lobby; every message goes to everyone in the same room on the same
// worker (uWebSockets.js topics). Rooms are per worker: across workers you need a shared bus (Redis, NATS...).

/** @type {import("wsfleet").WsfleetApp<{ room: string }>} */
const chatRoom = {
  path: "/chat",
  userData: (request) => ({ room: new URLSearchParams(request.query).get("room") || "lobby" }),
  open(ws) {
    ws.subscribe(ws.getUserData().room);
  },
  message(ws, message, isBinary) {
    const { room } = ws.getUserData();
    // publish() reaches every subscriber but the sender; the sender gets its own copy with send().
    ws.publish(room, message, isBinary);
    ws.send(message, isBinary);
  },
  routes(app) {
    app.get("/rooms", (res) => res.end("rooms are per worker; join one with /chat?room=NAME\n"));
  },
};

export default chatRoom;
