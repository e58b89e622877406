// The built-in echo's behaviour with an authorize hook that lets everyone in: what the async path costs a handshake.
/** @type {import("../../dist/index.js").WsfleetApp} */
export default {
  authorize: async () => true,
  message(ws, message, isBinary) {
    ws.send(message, isBinary);
  },
};
