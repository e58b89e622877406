/**
 * The floor of any Node.js client (`--client node-floor`): closed loop like `echo`, but each connection only counts
 * the bytes it reads and writes its next pre-built frame once a whole echo is in: one read callback and one
 * write() per echo, no frame parsing, no clock, no histogram. What load.js costs above this is its own; what this
 * costs is Node's (libuv, the stream's write path) and the kernel's, which no JavaScript client can avoid.
 */
import { buildMaskedFrame, buildPayload, headerBytesFor, OPCODE_BINARY, OPCODE_TEXT } from "../frames.js";
import { measuredResult, measuredWindow, newErrors, newMeasuredState } from "./measure.js";
import { openMany } from "./open-many.js";

export const floor = {
  name: "node-floor",
  matches: (settings) => settings.client === "node-floor",
  async run(settings, hooks) {
    const errors = newErrors();
    const frame = buildMaskedFrame(settings.binary ? OPCODE_BINARY : OPCODE_TEXT, buildPayload(settings.messageBytes));
    // What the server sends back: the same payload unmasked, behind its header.
    const echoBytes = headerBytesFor(settings.messageBytes) + settings.messageBytes;
    const state = { ...newMeasuredState(), sending: true };
    const connections = await openMany(settings, settings.connections, errors);
    for (const { socket, leftover, setReader } of connections) {
      let pending = leftover.length;
      setReader((_buffer, length) => {
        pending += length;
        if (state.recording) state.bytes += length;
        while (pending >= echoBytes) {
          pending -= echoBytes;
          if (state.recording) state.msgs += 1;
          if (state.sending) socket.write(frame);
        }
      });
      socket.on("error", () => {});
      for (let i = 0; i < settings.depth; i += 1) socket.write(frame);
    }
    await measuredWindow(settings, hooks, state);
    state.sending = false;
    for (const { socket } of connections) socket.destroy();
    return measuredResult("echo", connections.length, state, errors);
  },
};
