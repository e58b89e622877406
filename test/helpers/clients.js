import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import WebSocket from "ws";
import { eventually, SYSTEM_PYTHON, TIMEOUT_FACTOR } from "./fleet.js";

/** Opens a real `ws` client and resolves once it is open; `options` go to `ws` (for wss://: `{ ca }`). */
export async function connect(url, timeoutMs = 5000, options = {}) {
  const ws = new WebSocket(url, { handshakeTimeout: timeoutMs * TIMEOUT_FACTOR, ...options });
  await once(ws, "open");
  return ws;
}

/** Sends one message and resolves with the echo: { data: Buffer, isBinary }; rejects if the connection closes first. */
export async function roundTrip(ws, payload, binary) {
  assert.equal(ws.readyState, WebSocket.OPEN, "the connection is open");
  const done = new AbortController();
  const reply = once(ws, "message", { signal: done.signal });
  const closedFirst = once(ws, "close", { signal: done.signal }).then(([code]) => {
    throw new Error(`closed with ${code} before the echo`);
  });
  ws.send(payload, { binary });
  try {
    const [data, isBinary] = await Promise.race([reply, closedFirst]);
    return { data, isBinary };
  } finally {
    done.abort();
  }
}

/** Resolves with { code, reason } when the server closes the connection. */
export function closed(ws) {
  return once(ws, "close").then(([code, reason]) => ({ code, reason: String(reason) }));
}

/** The guide's transcript, checked: `python3 -m websockets URL` connected, echoed Hello! and closed with 1000. */
export async function assertGuideTranscript(url, env = {}) {
  const { code, text } = await pythonClientHello(url, env);
  assert.equal(code, 0, text);
  assert.match(text, new RegExp(`Connected to ${url.replace(/[./]/g, "\\$&")}\\.`));
  assert.match(text, /< Hello!/);
  assert.match(text, /Connection closed: 1000 \(OK\)\./);
  return text;
}

/**
 * The guide's own check, with its own client: `python3 -m websockets URL`, typing "Hello!" as a person would,
 * then ending input once the echo has arrived. Resolves with the exit code and what the client printed. `env` is
 * added to the client's (for wss://: SSL_CERT_FILE).
 */
export async function pythonClientHello(url, env = {}) {
  const child = spawn(SYSTEM_PYTHON, ["-m", "websockets", url], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  child.stdin.write("Hello!\n");
  await eventually(() => output.includes("< Hello!"), 5000);
  child.stdin.end();
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000 * TIMEOUT_FACTOR);
  const [code] = await once(child, "exit");
  clearTimeout(timer);
  // The client draws its prompt with terminal escapes; keep the words.
  const ESC = String.fromCharCode(27);
  const text = output.replace(new RegExp(`${ESC}\\[[0-9;]*[A-Za-z]|${ESC}[78]|\r`, "g"), "");
  return { code, text };
}
