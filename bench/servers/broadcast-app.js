// The broadcast bench's wsfleet app: `?room=NAME` subscribes, `?publishTo=NAME` makes a publisher whose every
// message goes to that room on every worker (and host, with --broker) through fleet.publish.

/** @type {import("wsfleet").Fleet} */
let fleet;

/** @type {import("wsfleet").WsfleetApp<{ room: string | null, publishTo: string | null }>} */
const broadcastApp = {
  setup(handle) {
    fleet = handle;
  },
  userData(request) {
    const query = new URLSearchParams(request.query);
    return { room: query.get("room"), publishTo: query.get("publishTo") };
  },
  open(ws) {
    const { room } = ws.getUserData();
    if (room) ws.subscribe(room);
  },
  message(ws, message, isBinary) {
    const { publishTo } = ws.getUserData();
    if (publishTo) fleet.publish(publishTo, message, isBinary);
  },
};

export default broadcastApp;
