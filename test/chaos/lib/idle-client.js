#!/usr/bin/env node
// A child process that holds idle WebSocket connections (so the test's own open-files limit is not the limit):
// `node idle-client.js <json>` with { ports, host, count, localAddresses, inFlight }; opens `count` connections
// (raw handshakes, ports and source addresses taken in turn), prints one JSON line { opened, failed, lastError },
// then holds them until its stdin closes.
import { randomBytes } from "node:crypto";
import net from "node:net";

const { ports, host, count, localAddresses, inFlight = 200 } = JSON.parse(process.argv[2]);
const sockets = [];
let failed = 0;
let lastError = "";

function open(index) {
  return new Promise((resolve) => {
    const port = ports[index % ports.length];
    const localAddress = localAddresses[index % localAddresses.length];
    const socket = net.connect({ port, host, localAddress });
    let head = "";
    const fail = (error) => {
      failed += 1;
      lastError = String(error.message ?? error);
      socket.destroy();
      resolve();
    };
    socket.setTimeout(20_000, () => fail(new Error("handshake timed out")));
    socket.once("error", fail);
    socket.once("connect", () =>
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    socket.on("data", function onData(chunk) {
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      if (!head.startsWith("HTTP/1.1 101")) return fail(new Error(head.split("\r\n")[0]));
      socket.removeAllListeners("error");
      socket.on("error", () => {});
      // The server's pings (idle timeout) need an answer: masked pong frames are not worth it here, so the test keeps
      // its hold shorter than half the idle timeout.
      sockets.push(socket);
      resolve();
    });
  });
}

let next = 0;
async function lane() {
  while (next < count) {
    const index = next;
    next += 1;
    await open(index);
  }
}
await Promise.all(Array.from({ length: Math.min(inFlight, count) }, lane));
process.stdout.write(`${JSON.stringify({ opened: sockets.length, failed, lastError })}\n`);
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
