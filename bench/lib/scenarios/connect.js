/** A new connection per exchange: connect, handshake, one echo, close. Counts completed exchanges. */
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { openWebSocket } from "../connection.js";
import {
  buildCloseFrame,
  buildMaskedFrame,
  buildPayload,
  FrameReader,
  OPCODE_BINARY,
  OPCODE_CLOSE,
  OPCODE_TEXT,
} from "../frames.js";
import { DRAIN_MS, measuredResult, measuredWindow, newErrors, newMeasuredState } from "./measure.js";

async function runConnect(settings, hooks) {
  const errors = newErrors();
  const frame = buildMaskedFrame(settings.binary ? OPCODE_BINARY : OPCODE_TEXT, buildPayload(settings.messageBytes));
  const closeFrame = buildCloseFrame();
  const state = newMeasuredState();
  let running = true;
  const exchange = () =>
    new Promise((resolve) => {
      const started = performance.now();
      openWebSocket({ ...settings, timeoutMs: 5000 }).then(
        ({ socket, leftover, setReader }) => {
          const done = setTimeout(() => socket.destroy(), DRAIN_MS);
          const reader = new FrameReader((op) => {
            if (op === OPCODE_CLOSE) {
              clearTimeout(done);
              socket.destroy();
            }
          });
          let echoed = false;
          const onData = (chunk, length) => {
            if (reader.feed(chunk, length) > 0 && !echoed) {
              echoed = true;
              if (state.recording) {
                state.msgs += 1;
                state.bytes += length;
                state.histogram.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)));
              }
              // The server closes TCP after the closing handshake (RFC 6455 7.1.1), so TIME_WAIT stays on its side.
              socket.write(closeFrame);
              resolve();
            }
          };
          setReader(onData);
          socket.on("error", () => {});
          socket.on("close", () => {
            clearTimeout(done);
            if (!echoed) {
              errors.closed += 1;
              resolve();
            }
          });
          if (leftover.length > 0) onData(leftover, leftover.length);
          socket.write(frame);
        },
        (error) => {
          errors.connect += 1;
          errors.lastMessage = String(error.message ?? error);
          // Back off a little on refusal, so a dead target is not hammered in a tight loop.
          setTimeout(resolve, 10);
        },
      );
    });
  const loops = Array.from({ length: settings.connections }, async () => {
    while (running) await exchange();
  });
  await measuredWindow(settings, hooks, state);
  running = false;
  await Promise.race([Promise.all(loops), sleep(DRAIN_MS)]);
  return measuredResult("connect", 0, state, errors);
}

export const connect = {
  name: "connect",
  matches: (settings) => settings.mode === "connect",
  run: runConnect,
};
