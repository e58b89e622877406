/** A connection flood from one client address beside normal clients from another, on a fleet with per-address limits. */
import assert from "node:assert/strict";
import WebSocket from "ws";
import { roundTrip } from "../../helpers/clients.js";
import { isAlive, sleep, startPrimary, TIMEOUT_FACTOR } from "../../helpers/fleet.js";
import { freePortRange } from "../../helpers/ports.js";
import { checked, percentile, recordFigures } from "./figures.js";

const FLOODER = "127.0.0.2";
const NORMAL = "127.0.0.3";

/** Opens one connection from `localAddress`: resolves with the open socket, or with the status it was refused with. */
function attempt(url, localAddress) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress, handshakeTimeout: 10_000 * TIMEOUT_FACTOR });
    ws.once("open", () => resolve({ ws }));
    ws.once("unexpected-response", (_, res) => {
      res.resume();
      ws.terminate();
      resolve({ status: res.statusCode });
    });
    ws.once("error", (error) => resolve({ error: error.message }));
  });
}

/**
 * `flooders` loops open connections from 127.0.0.2 as fast as the fleet answers, for `durationMs`, and keep every one
 * let in; meanwhile `normalClients` from 127.0.0.3 echo every 100 ms and one more connects, echoes and closes every
 * 200 ms (3 echoes each). The normal clients must see no failure; the flood is held to its limits.
 */
export async function connectionFlood(
  t,
  key,
  { workers = 2, flooders = 20, normalClients = 20, durationMs = 10_000, maxConnsPerIp = 100, handshakeRate = 100 },
) {
  const port = await freePortRange(1);
  const primary = startPrimary(t, [
    ...["--workers", String(workers), "--shared-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--max-conns-per-ip", String(maxConnsPerIp), "--handshake-rate", String(handshakeRate)],
  ]);
  const running = await primary.waitForRunning(workers);
  const url = `ws://127.0.0.1:${port}/`;
  const normal = [];
  for (let index = 0; index < normalClients; index += 1) {
    const { ws } = await attempt(url, NORMAL);
    assert.ok(ws, "a normal client connects before the flood");
    t.after(() => ws.terminate());
    normal.push(ws);
  }
  const deadline = performance.now() + durationMs;
  const flood = { attempts: 0, open: 0, statuses: {}, errors: 0, closedByServer: {} };
  const held = [];
  t.after(() => {
    for (const ws of held) ws.terminate();
  });
  const flooder = async () => {
    while (performance.now() < deadline) {
      flood.attempts += 1;
      const result = await attempt(url, FLOODER);
      if (result.ws) {
        flood.open += 1;
        held.push(result.ws);
        // A held connection the server closes frees its place: the limit is on connections open at once.
        result.ws.once("close", (code) => {
          flood.closedByServer[code] = (flood.closedByServer[code] ?? 0) + 1;
        });
      } else if (result.status) flood.statuses[result.status] = (flood.statuses[result.status] ?? 0) + 1;
      else flood.errors += 1;
    }
  };
  const latencies = [];
  let failures = 0;
  const echoing = async (ws, name, rounds = Number.POSITIVE_INFINITY) => {
    for (let sequence = 0; sequence < rounds && performance.now() < deadline; sequence += 1) {
      const started = performance.now();
      try {
        const { data } = await roundTrip(ws, `${name} ${sequence}`, false);
        if (String(data) === `${name} ${sequence}`) latencies.push(performance.now() - started);
        else failures += 1;
      } catch {
        failures += 1;
      }
      await sleep(100);
    }
  };
  let newcomers = 0;
  const newcomer = async () => {
    while (performance.now() < deadline) {
      const { ws, status, error } = await attempt(url, NORMAL);
      if (!ws) {
        failures += 1;
        primary.events.push({ event: "test-newcomer-refused", status, error });
      } else {
        newcomers += 1;
        await echoing(ws, `newcomer-${newcomers}`, 3);
        ws.close();
      }
      await sleep(200);
    }
  };
  await Promise.all([
    ...Array.from({ length: flooders }, flooder),
    ...normal.map((ws, index) => echoing(ws, `normal-${index}`)),
    newcomer(),
  ]);
  const refused = Object.values(flood.statuses).reduce((sum, count) => sum + count, 0);
  recordFigures(key, {
    title: "A connection flood from one address beside normal clients from another",
    what: `${workers} workers on a shared port with --max-conns-per-ip ${maxConnsPerIp} --handshake-rate ${handshakeRate}; ${flooders} loops open connections from ${FLOODER} as fast as they are answered for ${durationMs / 1000} s and keep what gets in; ${normalClients} clients from ${NORMAL} echo every 100 ms, and more connect meanwhile.`,
    figures: {
      "flood handshakes": flood.attempts,
      "flood handshakes per second": Math.round((flood.attempts * 1000) / durationMs),
      "flood connections let in": flood.open,
      "flood connections the server closed": Object.values(flood.closedByServer).reduce((sum, n) => sum + n, 0),
      "flood refused 429": flood.statuses[429] ?? 0,
      "flood refused otherwise": refused - (flood.statuses[429] ?? 0) + flood.errors,
      "normal clients' echoes": latencies.length,
      "normal clients' failures": failures,
      "normal clients' echo p99 during the flood, ms": percentile(latencies, 0.99),
      "normal newcomers let in": newcomers,
    },
  });
  await checked(key, () => {
    assert.equal(failures, 0, "the normal clients saw no failure");
    assert.ok(newcomers > 0, "normal clients connected during the flood");
    const holding = held.filter((ws) => ws.readyState === WebSocket.OPEN).length;
    assert.ok(
      holding <= maxConnsPerIp,
      `the flood holds at most ${maxConnsPerIp} at once: ${holding} open (${flood.open} let in, closed by the server: ${JSON.stringify(flood.closedByServer)})`,
    );
    assert.ok((flood.statuses[429] ?? 0) > 0, "the flood was refused with 429");
    for (const pid of running.values()) assert.ok(isAlive(pid), "every worker lives");
  });
}
