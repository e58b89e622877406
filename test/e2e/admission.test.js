import assert from "node:assert/strict";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";
import test from "node:test";
import WebSocket from "ws";
import { launchChromium } from "../helpers/browser.js";
import {
  eventually,
  FIXTURES,
  isAlive,
  runPrimary,
  sleep,
  startOneWorker,
  startPrimary,
  within,
} from "../helpers/fleet.js";
import { startHaproxyFleet } from "../helpers/haproxy.js";
import { freePortRange } from "../helpers/ports.js";
import { pythonAdmissionClient } from "../helpers/py-admission.js";

const ORIGINS = ["--allowed-origins", "https://app.example.com,*.example.org"];

/** A shared-port fleet of `workers` on 127.0.0.1, RUNNING; `--metrics` on the next port. */
async function startSharedPort(t, workers, extra) {
  const port = await freePortRange(2);
  const primary = startPrimary(t, [
    ...["--workers", String(workers), "--shared-port", String(port), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--metrics", `127.0.0.1:${port + 1}`],
    ...extra,
  ]);
  await primary.waitForRunning(workers);
  return { port, primary, url: `ws://127.0.0.1:${port}/`, metricsUrl: `http://127.0.0.1:${port + 1}/metrics` };
}

/** The sum over workers of one labelled series of /metrics, e.g. wsfleet_handshakes_refused_total{reason="origin"}. */
async function metricSum(metricsUrl, name, label) {
  const text = await (await fetch(metricsUrl)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name}{`) && line.includes(label)) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** The Origin checks, the same in every mode: they are made in the worker. */
async function assertOriginChecks(t, url) {
  const client = pythonAdmissionClient(t, url);
  assert.deepEqual((await client.open(3, "127.0.0.1", { origin: "https://evil.example" })).statuses, { 403: 3 });
  assert.deepEqual((await client.open(1, "127.0.0.1", { origin: "https://app.example.com" })).statuses, { 101: 1 });
  assert.deepEqual((await client.open(1, "127.0.0.1", { origin: "https://chat.example.org" })).statuses, { 101: 1 });
  // A scheme or a port other than the list's is another origin.
  assert.deepEqual((await client.open(1, "127.0.0.1", { origin: "http://app.example.com" })).statuses, { 403: 1 });
  assert.deepEqual((await client.open(1, "127.0.0.1", { origin: "https://example.org" })).statuses, { 403: 1 });
  // No Origin: not a browser; it passes without --require-origin.
  assert.deepEqual((await client.open(1, "127.0.0.1")).statuses, { 101: 1 });
  await client.exit();
}

test("a foreign Origin gets 403 with consecutive ports, in shared-port mode and behind --haproxy", async (t) => {
  const one = await startOneWorker(t, ORIGINS);
  await assertOriginChecks(t, `ws://127.0.0.1:${one.port}/`);
  one.primary.kill();
  const shared = await startSharedPort(t, 2, ORIGINS);
  await assertOriginChecks(t, shared.url);
  assert.ok(
    await eventually(
      async () => (await metricSum(shared.metricsUrl, "wsfleet_handshakes_refused_total", '"origin"')) === 5,
    ),
    "/metrics counts the 5 refusals by reason",
  );
  shared.primary.kill();
  const behind = await startHaproxyFleet(t, 2, ORIGINS);
  await assertOriginChecks(t, behind.url);
});

test("--require-origin refuses a handshake without Origin; an allowed one still passes", async (t) => {
  const { port } = await startOneWorker(t, [...ORIGINS, "--require-origin"]);
  const client = pythonAdmissionClient(t, `ws://127.0.0.1:${port}/`);
  assert.deepEqual((await client.open(2, "127.0.0.1")).statuses, { 403: 2 });
  assert.deepEqual((await client.open(1, "127.0.0.1", { origin: "https://app.example.com" })).statuses, { 101: 1 });
  await client.exit();
});

/** Opens a raw handshake and drops the socket after `afterMs`, before the worker answers. */
function abandonHandshake(port, path, afterMs) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
      setTimeout(() => socket.destroy(), afterMs);
    });
    socket.on("error", () => {});
    socket.on("close", resolve);
  });
}

test("an async authorize that waits 200 ms sorts 500 concurrent handshakes right; leaving mid-authorize is harmless", async (t) => {
  const { port, primary, pid } = await startOneWorker(t, ["--app", `${FIXTURES}authorize-app.mjs`]);
  const url = `ws://127.0.0.1:${port}/`;
  const client = pythonAdmissionClient(t, url);
  const mixed = await client.open(500, "127.0.0.1", { paths: "?token=good|?token=bad" });
  assert.deepEqual(mixed.statuses, { 101: 250, 401: 250 });
  assert.equal(mixed.held, 250);
  // What authorize returned reached the connection's data; throwing or nonsense is 500 and the worker lives.
  // The greeting may come in the same packet as the 101: listen before the open.
  const ws = new WebSocket(`${url}?token=good`, { headers: { "x-user": "ann" } });
  const [greeting] = await within(once(ws, "message"), 5000, ["no greeting"]);
  assert.equal(String(greeting), "hello user-ann");
  ws.close();
  assert.deepEqual((await client.open(2, "127.0.0.1", { paths: "?token=throw|?token=bad-data" })).statuses, { 500: 2 });
  await Promise.all(Array.from({ length: 50 }, () => abandonHandshake(port, "/?token=good", 50)));
  await sleep(400);
  assert.deepEqual((await client.open(1, "127.0.0.1", { paths: "?token=good" })).statuses, { 101: 1 });
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(health.status, 200);
  assert.ok(isAlive(pid), "the worker that ran the hook is the one still serving");
  assert.equal(primary.events.filter((event) => event.event === "exited").length, 0, "no worker exited");
  await client.exit();
  assert.ok(
    await eventually(() => primary.stdout.includes("authorize returned status 200")),
    "the hook's mistake is logged",
  );
});

/** 20 from 127.0.0.2 with --max-conns-per-ip 10: 10 in, 10 refused; 127.0.0.3 unaffected; 5 closed, 5 more in. */
async function assertConnsPerIp(t, url) {
  const client = pythonAdmissionClient(t, url);
  assert.deepEqual((await client.open(20, "127.0.0.2")).statuses, { 101: 10, 429: 10 });
  assert.deepEqual((await client.open(3, "127.0.0.3")).statuses, { 101: 3 });
  assert.equal((await client.echo()).echoed, 13, "every connection let in echoes");
  assert.deepEqual(await client.close(5, "127.0.0.2"), { held: 8 });
  // The closes reach every counter (HAProxy's table, or the primary's ledger) within a moment.
  await sleep(300);
  assert.deepEqual((await client.open(6, "127.0.0.2")).statuses, { 101: 5, 429: 1 });
  await client.exit();
}

test("--max-conns-per-ip counts across 2 workers on a shared port (the primary's ledger)", async (t) => {
  const fleet = await startSharedPort(t, 2, ["--max-conns-per-ip", "10"]);
  await assertConnsPerIp(t, fleet.url);
  assert.ok(
    await eventually(
      async () => (await metricSum(fleet.metricsUrl, "wsfleet_handshakes_refused_total", '"conns-per-ip"')) === 11,
    ),
    "/metrics counts the 11 refusals",
  );
  const status = await runPrimary(["status", "--pid", String(fleet.primary.child.pid)]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /refused handshakes: conns-per-ip 11/);
  assert.match(status.stdout, /per client address: at most 10 connections, by the primary's ledger/);
});

test("--max-conns-per-ip behind --haproxy is HAProxy's stick table", async (t) => {
  const fleet = await startHaproxyFleet(t, 2, ["--max-conns-per-ip", "10"]);
  await assertConnsPerIp(t, fleet.url);
});

/** A burst of 12 with --handshake-rate 5: 5 in, 7 refused with Retry-After; after `waitMs`, 5 more in. */
async function assertHandshakeRate(t, url, waitMs) {
  const client = pythonAdmissionClient(t, url);
  const burst = await client.open(12, "127.0.0.2");
  assert.deepEqual(burst.statuses, { 101: 5, 429: 7 });
  assert.deepEqual(burst.retryAfter, ["1"]);
  assert.deepEqual((await client.open(1, "127.0.0.3")).statuses, { 101: 1 }, "another address has its own rate");
  await sleep(waitMs);
  assert.deepEqual((await client.open(5, "127.0.0.2")).statuses, { 101: 5 });
  await client.exit();
}

test("--handshake-rate refuses the excess of a burst and admits again a second later (2 workers, shared port)", async (t) => {
  const fleet = await startSharedPort(t, 2, ["--handshake-rate", "5/s"]);
  await assertHandshakeRate(t, fleet.url, 1100);
});

test("--handshake-rate behind --haproxy (HAProxy's http_req_rate is a sliding second: two seconds later)", async (t) => {
  const fleet = await startHaproxyFleet(t, 2, ["--handshake-rate", "5"]);
  await assertHandshakeRate(t, fleet.url, 2100);
});

test("--max-connections: a full worker answers 503 with Retry-After and /healthz says full", async (t) => {
  const { port } = await startOneWorker(t, ["--max-connections", "3"]);
  const client = pythonAdmissionClient(t, `ws://127.0.0.1:${port}/`);
  const opened = await client.open(5, "127.0.0.1");
  assert.deepEqual(opened.statuses, { 101: 3, 503: 2 });
  assert.deepEqual(opened.retryAfter, ["1"]);
  const full = await fetch(`http://127.0.0.1:${port}/healthz`);
  assert.equal(full.status, 503);
  assert.equal(await full.text(), "full\n");
  await client.close(1, "127.0.0.1");
  assert.ok(await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200));
  assert.deepEqual((await client.open(2, "127.0.0.1")).statuses, { 101: 1, 503: 1 });
  await client.exit();
});

test("--max-connections behind --haproxy: a full worker leaves the rotation until a connection closes", async (t) => {
  const fleet = await startHaproxyFleet(t, 2, ["--max-connections", "3"]);
  // Filled straight on its own port, so only /healthz can tell HAProxy.
  const direct = pythonAdmissionClient(t, `ws://127.0.0.1:${fleet.base}/`);
  assert.deepEqual((await direct.open(3, "127.0.0.1")).statuses, { 101: 3 });
  const stateOf = async () => (await fleet.runtime.serverState("websocket", "websockets-test_00"))?.operational;
  assert.ok(await eventually(async () => (await stateOf()) === "DOWN", 10_000), "HAProxy takes the full worker out");
  const through = pythonAdmissionClient(t, fleet.url);
  assert.deepEqual((await through.open(3, "127.0.0.1")).statuses, { 101: 3 }, "the other worker takes them");
  await direct.close(1, "127.0.0.1");
  assert.ok(await eventually(async () => (await stateOf()) === "UP", 10_000), "and puts it back once it has room");
  await Promise.all([direct.exit(), through.exit()]);
});

test("bad admission options exit 2 naming the option, the value and the fix", async () => {
  const cases = [
    [["--max-conns-per-ip", "0"], /--max-conns-per-ip: "0".*at least 1/],
    [["--max-conns-per-ip", "-3"], /--max-conns-per-ip: "-3"/],
    [["--handshake-rate", "0/s"], /--handshake-rate: "0\/s".*at least 1/],
    [["--handshake-rate", "fast"], /--handshake-rate: "fast"/],
    [["--max-connections", "0"], /--max-connections: "0"/],
    [["--allowed-origins", "https://app.example.com/chat"], /--allowed-origins.*without a path/],
    [["--allowed-origins", "*"], /--allowed-origins: "\*"/],
    [["--require-origin"], /--require-origin.*together with --allowed-origins/],
    [["--exec", "true", "--max-conns-per-ip", "5"], /--max-conns-per-ip.*with --haproxy/],
    [["--exec", "true", "--allowed-origins", "https://a.example"], /--allowed-origins.*without --exec/],
  ];
  for (const [args, expected] of cases) {
    const { code, stderr } = await runPrimary(args);
    assert.equal(code, 2, `${args.join(" ")}: ${stderr}`);
    assert.match(stderr, expected);
  }
  const config = await runPrimary(["haproxy-config", "--handshake-rate", "-1"]);
  assert.equal(config.code, 2);
  assert.match(config.stderr, /--handshake-rate: "-1"/);
});

/** A blank page on 127.0.0.1:<free port>, so Chromium's WebSockets from it carry that Origin. */
async function servePage(t) {
  const port = await freePortRange(1);
  const server = http.createServer((_, res) =>
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html>"),
  );
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  t.after(() => server.close());
  return `http://127.0.0.1:${port}`;
}

test("Chromium: a page of an allowed origin connects; a page of another origin gets no WebSocket", async (t) => {
  const [allowed, foreign] = [await servePage(t), await servePage(t)];
  const { port, primary } = await startOneWorker(t, ["--allowed-origins", allowed]);
  const browser = await launchChromium(t);
  const tryFrom = async (origin) => {
    const page = await browser.newPage();
    await page.goto(`${origin}/`);
    return page.evaluate(
      (target) =>
        new Promise((resolve) => {
          const ws = new WebSocket(target);
          ws.onopen = () => ws.send("from the page");
          ws.onmessage = (event) => {
            resolve({ echoed: event.data });
            ws.close();
          };
          ws.onclose = (event) => resolve({ closeCode: event.code });
        }),
      `ws://127.0.0.1:${port}/`,
    );
  };
  assert.deepEqual(await tryFrom(allowed), { echoed: "from the page" });
  // A refused handshake is, to the page, a connection that failed: 1006 and no detail (the browser hides it).
  assert.deepEqual(await tryFrom(foreign), { closeCode: 1006 });
  assert.ok(
    await eventually(() => primary.stdout.includes(`refused a handshake: origin (Origin ${foreign}, 127.0.0.1)`)),
    "the worker says which Origin it refused",
  );
});
