import WebSocket from "ws";
import { eventually, TIMEOUT_FACTOR } from "./fleet.js";

/**
 * `count` clients that each keep one WebSocket open, send a numbered message every `intervalMs`, check each echo,
 * and reconnect at once when the server closes (1012 Service Restart, 1001 Going Away, or anything else).
 * Counts what the rolling-restart and failure tests assert on; `rampMs` spreads the first connections over that time,
 * `localAddresses` are the source addresses taken in turn, and every successful handshake's time
 * (performance.now()) and duration in ms are kept in `opens`. With `identify` (a server running
 * test/fixtures/named-echo-app.mjs), each connection first asks "whoami", and every close is kept in `closes` with
 * the worker that served it.
 */
export function startReconnectingClients(
  url,
  count,
  { intervalMs = 100, rampMs = 0, localAddresses = [], identify = false } = {},
) {
  const stats = {
    opens: [],
    closes: [],
    handshakes: 0,
    failedHandshakes: 0,
    failures: [],
    echoes: 0,
    wrongEchoes: 0,
    closeCodes: {},
  };
  let stopping = false;
  const sockets = new Set();

  function run(id) {
    if (stopping) return;
    const localAddress = localAddresses.length > 0 ? localAddresses[id % localAddresses.length] : undefined;
    const ws = new WebSocket(url, { handshakeTimeout: 5000 * TIMEOUT_FACTOR, localAddress });
    const startedAt = performance.now();
    sockets.add(ws);
    let opened = false;
    let sequence = 0;
    let expected;
    let timer;
    let worker;
    const sendNext = () => {
      if (ws.readyState !== WebSocket.OPEN || expected !== undefined) return;
      sequence += 1;
      expected = `client ${id} message ${sequence}`;
      ws.send(expected);
    };
    ws.on("open", () => {
      opened = true;
      stats.handshakes += 1;
      const now = performance.now();
      stats.opens.push({ at: now, ms: now - startedAt, id });
      timer = setInterval(sendNext, intervalMs);
      if (identify) {
        expected = "whoami";
        ws.send("whoami");
      } else sendNext();
    });
    ws.on("message", (data) => {
      if (expected === "whoami") worker = String(data);
      else if (String(data) === expected) stats.echoes += 1;
      else stats.wrongEchoes += 1;
      expected = undefined;
    });
    ws.on("unexpected-response", (_request, response) => {
      stats.failures.push(`HTTP ${response.statusCode}`);
    });
    ws.on("error", (error) => {
      if (!opened) stats.failures.push(error.message);
    });
    ws.on("close", (code) => {
      clearInterval(timer);
      sockets.delete(ws);
      // Our own closes on stop() are not counted.
      if (stopping) return;
      if (!opened) stats.failedHandshakes += 1;
      else {
        stats.closeCodes[code] = (stats.closeCodes[code] ?? 0) + 1;
        if (identify) stats.closes.push({ worker, code, at: performance.now() });
      }
      setTimeout(() => run(id), opened ? 0 : 100);
    });
  }

  for (let id = 0; id < count; id += 1) {
    if (rampMs > 0) setTimeout(() => run(id), (id * rampMs) / count);
    else run(id);
  }
  const openCount = () => [...sockets].filter((ws) => ws.readyState === WebSocket.OPEN).length;

  return {
    stats,
    /** How many are open right now. */
    openCount,
    /** Waits until every client is open and `count` more echoes have come back: traffic flows. Returns whether. */
    flowing(timeoutMs = 10_000) {
      const from = stats.echoes;
      return eventually(() => openCount() === count && stats.echoes >= from + count, timeoutMs);
    },
    /** Closes every client with 1000 and resolves once all are closed; those closes are not counted. */
    async stop() {
      stopping = true;
      const closing = [...sockets].map(
        (ws) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => ws.terminate(), 2000);
            ws.once("close", () => {
              clearTimeout(timer);
              resolve();
            });
            if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
            else ws.close(1000);
          }),
      );
      await Promise.all(closing);
      return stats;
    },
  };
}

/**
 * A client opening `perSecond` new connections a second, each one echoed once and closed with 1000: counts the
 * handshakes that failed (refused, reset, HTTP error) and the connections that ended otherwise than by our close.
 */
export function startNewConnections(url, perSecond) {
  const stats = { opened: 0, refused: 0, failures: [], abnormalCloses: {} };
  let stopping = false;
  const pending = new Set();
  const open = () => {
    const ws = new WebSocket(url, { handshakeTimeout: 5000 * TIMEOUT_FACTOR });
    let opened = false;
    const done = new Promise((resolve) => {
      ws.on("open", () => {
        opened = true;
        stats.opened += 1;
        ws.send("hello");
      });
      ws.on("message", () => ws.close(1000));
      ws.on("unexpected-response", (_request, response) => stats.failures.push(`HTTP ${response.statusCode}`));
      ws.on("error", (error) => {
        if (!opened) stats.failures.push(error.message);
      });
      ws.on("close", (code) => {
        if (!opened) stats.refused += 1;
        else if (code !== 1000 && code !== 1005) stats.abnormalCloses[code] = (stats.abnormalCloses[code] ?? 0) + 1;
        resolve();
      });
    });
    pending.add(done);
    void done.then(() => pending.delete(done));
  };
  const timer = setInterval(() => {
    if (!stopping) open();
  }, 1000 / perSecond);
  return {
    stats,
    async stop() {
      stopping = true;
      clearInterval(timer);
      await Promise.all(pending);
      return stats;
    },
  };
}
