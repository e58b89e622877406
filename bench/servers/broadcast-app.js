// The broadcast bench's wsfleet app: `?room=NAME` subscribes, `?publishTo=NAME` makes a publisher whose every
// message goes to that room on every worker (and host, with --broker) through fleet.publish; `?publishTo=*` takes
// the room from each message, up to its first space (the many-topics scenario).

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
    if (publishTo === "*") {
      const bytes = new Uint8Array(message);
      const space = bytes.indexOf(0x20);
      fleet.publish(Buffer.from(bytes.subarray(0, space)).toString(), bytes.subarray(space + 1), isBinary);
    } else if (publishTo) fleet.publish(publishTo, message, isBinary);
  },
};

export default broadcastApp;
