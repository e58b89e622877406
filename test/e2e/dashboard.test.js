import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { test } from "node:test";
import parsePrometheus from "parse-prometheus-text-format";
import { chromium } from "playwright-core";
import { connect, roundTrip } from "../helpers/clients.js";
import { eventually, runPrimary, startPrimary } from "../helpers/fleet.js";
import { freePortRange } from "../helpers/ports.js";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "test-token-0123456789abcdef";

/** The metrics text parsed by a Prometheus text parser: family name → [{ labels, value }]. */
async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  const families = new Map();
  for (const family of parsePrometheus(await res.text())) {
    families.set(
      family.name,
      family.metrics.map((metric) => ({ labels: metric.labels ?? {}, value: Number(metric.value) })),
    );
  }
  return families;
}

const sum = (families, name) => (families.get(name) ?? []).reduce((total, metric) => total + metric.value, 0);

/** The page's rows: name → { pid, restarts, rate }. */
function rowsOf(page) {
  return page.$$eval("#rows tr", (rows) =>
    Object.fromEntries(
      rows.map((row) => [
        row.dataset.worker,
        {
          pid: row.querySelector(".pid")?.textContent,
          restarts: row.querySelector(".restarts")?.textContent,
          rate: Number(row.querySelector(".rate")?.textContent),
        },
      ]),
    ),
  );
}

test("--dashboard in headless Chromium (token asked, rows, messages/s, kill -9) and prom-client /metrics on the same port", async (t) => {
  assert.ok(existsSync(CHROMIUM), "Debian's chromium is installed by .ci/run (apt-get install chromium)");
  const base = await freePortRange(4);
  const http = base + 3;
  const primary = startPrimary(t, [
    ...["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1", "--start-secs", "0"],
    ...["--haproxy", "--frontend-host", "127.0.0.1", "--frontend-port", String(base + 2)],
    ...["--metrics", String(http), "--dashboard", `127.0.0.1:${http}`, "--dashboard-token", TOKEN],
  ]);
  await primary.waitForRunning(2);
  await primary.waitForEvent((event) => event.event === "haproxy-started", 20_000);
  const pid = String(primary.child.pid);
  const statusOf = async () => JSON.parse((await runPrimary(["status", "--pid", pid, "--json"])).stdout);
  const status = await statusOf();

  // The token guards the data, not the page: /events and /metrics refuse a request without it.
  assert.equal((await fetch(`http://127.0.0.1:${http}/events`)).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${http}/metrics`)).status, 401);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 470 } });
  const blocked = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(`http://127.0.0.1:${http}/`)) blocked.push(request.url());
  });
  await page.goto(`http://127.0.0.1:${http}/`);
  await page.waitForSelector("#token-form:not([hidden])");
  await page.fill("#token", TOKEN);
  await page.click("#token-form button");
  await page.waitForSelector("#rows tr[data-worker=haproxy]", { timeout: 10_000 });
  const rows = await rowsOf(page);
  for (const worker of status.workers) assert.equal(rows[worker.name]?.pid, String(worker.pid), worker.name);
  assert.equal(rows.haproxy.pid, String(status.haproxy.pid));
  assert.deepEqual(blocked, [], "the page loads nothing from elsewhere");

  // Traffic on worker 00: its messages/s rises above 0 while a client sends, and falls back to 0 after.
  const ws = await connect(`ws://127.0.0.1:${base}/`);
  let sent = 0;
  const sending = (async () => {
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      await roundTrip(ws, `message ${sent}`, false);
      sent += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  const busy = await eventually(async () => (await rowsOf(page))["websockets-test_00"].rate > 0, 5000);
  assert.ok(busy, JSON.stringify(await rowsOf(page)));
  if (process.env.WSFLEET_SCREENSHOT) {
    // The README's picture (taken on demand, so a test run does not rewrite the repository).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    mkdirSync(new URL("../../docs/", import.meta.url), { recursive: true });
    await page.screenshot({ path: new URL("../../docs/dashboard.png", import.meta.url).pathname });
  }
  await sending;
  ws.close();
  const quiet = await eventually(async () => (await rowsOf(page))["websockets-test_00"].rate === 0, 8000);
  assert.ok(quiet, JSON.stringify(await rowsOf(page)));

  // The metrics count exactly what was sent: `sent` messages on one connection.
  const counted = await eventually(async () => {
    const families = await scrape(http);
    return sum(families, "wsfleet_messages_received_total") === sent && sum(families, "wsfleet_connections_open") === 0;
  }, 5000);
  const families = await scrape(http);
  assert.ok(counted, `sent ${sent}, counted ${sum(families, "wsfleet_messages_received_total")}`);
  assert.equal(sum(families, "wsfleet_messages_sent_total"), sent);
  assert.equal(sum(families, "wsfleet_connections_total"), 1);
  assert.equal(
    families.get("wsfleet_messages_received_total").find((metric) => metric.labels.worker === "websockets-test_00")
      .value,
    sent,
  );
  assert.deepEqual(
    families.get("wsfleet_workers").find((metric) => metric.labels.state === "RUNNING"),
    { labels: { state: "RUNNING" }, value: 2 },
  );
  assert.deepEqual(
    families
      .get("wsfleet_haproxy_server")
      .map(({ labels }) => `${labels.server} ${labels.state} ${labels.admin}`)
      .sort(),
    ["websockets-test_00 UP ready", "websockets-test_01 UP ready"],
  );
  assert.equal(families.get("wsfleet_info")[0].labels.nodejs, process.versions.node);
  assert.match(families.get("wsfleet_info")[0].labels.haproxy, /^\d+\.\d+/);

  // kill -9 of worker 01: the page shows its new pid and restart count within 2 s.
  const old = status.workers[1];
  process.kill(old.pid, "SIGKILL");
  const replaced = await eventually(async () => {
    const row = (await rowsOf(page))["websockets-test_01"];
    return row.pid !== String(old.pid) && row.pid !== "-" && row.restarts === "1";
  }, 2000);
  assert.ok(replaced, JSON.stringify(await rowsOf(page)));
  const now = await statusOf();
  assert.equal((await rowsOf(page))["websockets-test_01"].pid, String(now.workers[1].pid));
});

test("--dashboard beyond loopback without --dashboard-token: exit 2 naming it, before anything starts", async () => {
  const { code, stderr } = await runPrimary(["--workers", "1", "--dashboard", "0.0.0.0:9200"]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    /WSFLEET_INVALID_OPTION: --dashboard 0\.0\.0\.0:9200 listens beyond loopback.*: add --dashboard-token <token>/,
  );
});
