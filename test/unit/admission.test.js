import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { AddressLedger } from "../../dist/admission/address-ledger.js";
import { authorizeVerdict } from "../../dist/admission/authorize.js";
import { gateRefusal, gateSettings, isFull } from "../../dist/admission/gate.js";
import {
  askLine,
  LineSplitter,
  parseVerdictLine,
  parseWorkerLine,
  releaseLine,
  verdictLine,
} from "../../dist/admission/ledger-wire.js";
import { originAllowed, parseOriginList, parseOriginRule } from "../../dist/admission/origin.js";
import { RefusalLog } from "../../dist/admission/refusal-log.js";
import { REFUSAL_ANSWERS, REFUSAL_REASONS, statusLine } from "../../dist/admission/refusals.js";
import { haproxyConfigModel } from "../../dist/cli/haproxy-config.js";
import { formatAdmission } from "../../dist/cli/status.js";
import { validateOptions } from "../../dist/config/validate.js";
import { checkConfigFile } from "../../dist/haproxy/check.js";
import { addressLimitLines, renderConfig } from "../../dist/haproxy/config.js";
import { serversFor, websocketModel } from "../../dist/haproxy/model.js";
import { createCounters, sumCounters } from "../../dist/protocol/counters.js";
import { decodeWorkerEnv, encodeWorkerEnv } from "../../dist/protocol/worker-env.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };

test("origins: exact scheme://host[:port], *.domain for its subdomains, any scheme when none is given", () => {
  const rules = parseOriginList("https://app.example.com, *.example.org ,http://localhost:3000,chat.example.net");
  assert.equal(originAllowed(rules, "https://app.example.com"), true);
  assert.equal(originAllowed(rules, "HTTPS://APP.EXAMPLE.COM"), true, "origins compare without case");
  assert.equal(originAllowed(rules, "http://app.example.com"), false, "another scheme is another origin");
  assert.equal(originAllowed(rules, "https://app.example.com:8443"), false, "another port is another origin");
  assert.equal(originAllowed(rules, "https://a.b.example.org"), true);
  assert.equal(originAllowed(rules, "https://example.org"), false, "the wildcard is for subdomains, not the apex");
  assert.equal(originAllowed(rules, "https://evilexample.org"), false);
  assert.equal(originAllowed(rules, "http://localhost:3000"), true);
  assert.equal(originAllowed(rules, "http://chat.example.net"), true);
  assert.equal(originAllowed(rules, "null"), false, "an opaque origin (sandboxed page, file://) is not listed");
  assert.equal(originAllowed(rules, "https://app.example.com.evil.example"), false);
  for (const bad of [
    "*",
    "https://app.example.com/chat",
    "app example.com",
    "",
    "ftp://x.example",
    "https://x:99999",
  ]) {
    assert.equal(parseOriginRule(bad), undefined, bad);
  }
  assert.throws(() => parseOriginList("https://ok.example,https://bad.example/path"), /"https:\/\/bad.example\/path"/);
});

test("the gate: draining first, then the Origin (403 even when full), then --max-connections", () => {
  const gate = gateSettings({ allowedOrigins: ["https://app.example.com"], requireOrigin: false, maxConnections: 2 });
  assert.equal(gateRefusal(gate, true, 0, "https://app.example.com"), "draining");
  assert.equal(gateRefusal(gate, false, 5, "https://evil.example"), "origin");
  assert.equal(gateRefusal(gate, false, 1, ""), undefined, "no Origin passes without --require-origin");
  assert.equal(gateRefusal(gate, false, 2, "https://app.example.com"), "max-connections");
  assert.equal(gateRefusal({ ...gate, requireOrigin: true }, false, 0, ""), "origin");
  const open = gateSettings({ allowedOrigins: [], requireOrigin: false, maxConnections: undefined });
  assert.equal(gateRefusal(open, false, 1e9, "https://anything.example"), undefined);
  assert.equal(isFull(gate, 2), true);
  assert.equal(isFull(gate, 1), false);
  assert.equal(isFull(open, 1e9), false);
});

test("the ledger counts open connections per address across holders, and releases a gone holder's", () => {
  const ledger = new AddressLedger({ maxConnsPerIp: 2, handshakeRatePerSec: undefined });
  const [a, b] = ["worker-a", "worker-b"];
  assert.deepEqual(ledger.admit("10.0.0.1", a, 0), { admit: true });
  assert.deepEqual(ledger.admit("10.0.0.1", b, 1), { admit: true });
  assert.deepEqual(ledger.admit("10.0.0.1", a, 2), { admit: false, reason: "conns-per-ip" });
  assert.deepEqual(ledger.admit("10.0.0.2", a, 3), { admit: true }, "another address has its own count");
  ledger.release("10.0.0.1", b);
  assert.equal(ledger.openFrom("10.0.0.1"), 1);
  ledger.release("10.0.0.1", b);
  assert.equal(ledger.openFrom("10.0.0.1"), 1, "a release its holder does not hold is ignored");
  ledger.dropHolder(a);
  assert.equal(ledger.openFrom("10.0.0.1"), 0);
  assert.equal(ledger.openFrom("10.0.0.2"), 0);
  ledger.sweep(5000);
  assert.equal(ledger.trackedAddresses, 0, "nothing open and no recent handshake: forgotten");
});

test("the ledger's rate: the excess of a second is refused with Retry-After, and admitted again after it", () => {
  const ledger = new AddressLedger({ maxConnsPerIp: undefined, handshakeRatePerSec: 3 });
  const verdicts = [0, 100, 200, 300, 900].map((ms) => ledger.admit("10.0.0.1", "w", 1000 + ms));
  assert.deepEqual(
    verdicts.map((verdict) => verdict.admit),
    [true, true, true, false, false],
  );
  assert.deepEqual(verdicts[3], { admit: false, reason: "handshake-rate", retryAfterSecs: 1 });
  assert.deepEqual(ledger.admit("10.0.0.1", "w", 2000), { admit: true }, "a second after the first, a new second");
  ledger.sweep(2500);
  assert.equal(ledger.trackedAddresses, 1, "an address still holding connections is kept");
});

test("the ledger's wire round-trips asks, releases and every verdict; odd input is ignored", () => {
  assert.deepEqual(parseWorkerLine(askLine(7, "10.0.0.1").trim()), { kind: "ask", id: 7, address: "10.0.0.1" });
  assert.deepEqual(parseWorkerLine(releaseLine("a b\tc").trim()), { kind: "release", address: "a_b_c" });
  assert.equal(parseWorkerLine("x 1 2"), undefined);
  assert.equal(parseWorkerLine("a one 10.0.0.1"), undefined);
  for (const verdict of [
    { admit: true },
    { admit: false, reason: "conns-per-ip" },
    { admit: false, reason: "handshake-rate", retryAfterSecs: 1 },
  ]) {
    assert.deepEqual(parseVerdictLine(verdictLine(3, verdict).trim()), { id: 3, verdict });
  }
  const splitter = new LineSplitter();
  assert.deepEqual(splitter.push("1 ok\n2 co"), ["1 ok"]);
  assert.deepEqual(splitter.push("nns\n"), ["2 conns"]);
});

test("authorize's answers become decisions; anything else is the app's mistake (500)", () => {
  assert.deepEqual(authorizeVerdict(true), { accept: true, userData: undefined });
  assert.deepEqual(authorizeVerdict(false), {
    accept: false,
    answer: { status: "403 Forbidden", body: "forbidden\n" },
  });
  assert.deepEqual(authorizeVerdict({ status: 401, reason: "bad\r\ntoken" }), {
    accept: false,
    answer: { status: "401 Unauthorized", body: "bad token\n" },
  });
  assert.deepEqual(authorizeVerdict({ status: 418 }), {
    accept: false,
    answer: { status: "418 Refused", body: "Refused\n" },
  });
  assert.deepEqual(authorizeVerdict({ userData: { user: "ann" } }), { accept: true, userData: { user: "ann" } });
  for (const mistake of [{ status: 200 }, { status: "401" }, { userData: 3 }, undefined, "yes", 1]) {
    const verdict = authorizeVerdict(mistake);
    assert.equal(verdict.accept, false);
    assert.match(verdict.error, /^authorize returned/, JSON.stringify(mistake));
  }
  assert.equal(statusLine(429), "429 Too Many Requests");
});

test("refusals: every reason but the app's own has an answer; rate and fullness say when to retry", () => {
  for (const reason of REFUSAL_REASONS) {
    if (reason !== "authorize") assert.ok(REFUSAL_ANSWERS[reason], reason);
  }
  assert.equal(REFUSAL_ANSWERS.origin.status, "403 Forbidden");
  assert.equal(REFUSAL_ANSWERS["conns-per-ip"].status, "429 Too Many Requests");
  assert.equal(REFUSAL_ANSWERS["handshake-rate"].retryAfterSecs, 1);
  assert.equal(REFUSAL_ANSWERS["max-connections"].status, "503 Service Unavailable");
  assert.equal(REFUSAL_ANSWERS["max-connections"].retryAfterSecs, 1);
});

test("the refusal log writes at most one line a second: the first at once, then one summary", () => {
  const lines = [];
  const timers = [];
  const log = new RefusalLog((line) => lines.push(line), { setTimeout: (callback) => timers.push(callback) });
  log.note("origin", "Origin https://evil.example, 10.0.0.1");
  for (let i = 0; i < 1000; i += 1) log.note("conns-per-ip", `10.0.0.${i % 3}`);
  log.note("origin", "Origin https://other.example, 10.0.0.9");
  assert.deepEqual(lines, ["refused a handshake: origin (Origin https://evil.example, 10.0.0.1)"]);
  timers.shift()();
  assert.deepEqual(lines.slice(1), [
    "refused 1001 more handshakes in the last second: conns-per-ip 1000 (last: 10.0.0.0), origin 1 (last: Origin https://other.example, 10.0.0.9)",
  ]);
  timers.shift()();
  assert.equal(lines.length, 2, "a quiet second writes nothing");
  log.note("authorize", "401 Unauthorized, 10.0.0.1");
  assert.equal(lines.length, 3, "after a quiet second, the next refusal is written at once");
});

test("options: the admission settings reach the worker's slice and the fleet's address limits", () => {
  const options = validateOptions(
    {
      allowedOrigins: "https://app.example.com,*.example.org",
      requireOrigin: true,
      maxConnections: "100",
      maxConnsPerIp: "10",
      handshakeRate: "5/s",
    },
    defaults,
  );
  const { connections } = options.fleet;
  assert.deepEqual(connections.allowedOrigins, ["https://app.example.com", "*.example.org"]);
  assert.equal(connections.requireOrigin, true);
  assert.equal(connections.maxConnections, 100);
  assert.deepEqual(options.addressLimits, { maxConnsPerIp: 10, handshakeRatePerSec: 5 });
  assert.equal(validateOptions({}, defaults).addressLimits, undefined);
  assert.equal(validateOptions({}, defaults).fleet.connections.maxConnections, undefined);
  // Behind --haproxy, --exec programs get the per-address limits from HAProxy.
  assert.deepEqual(validateOptions({ exec: "true", haproxy: true, maxConnsPerIp: "3" }, defaults).addressLimits, {
    maxConnsPerIp: 3,
    handshakeRatePerSec: undefined,
  });
  for (const [raw, message] of [
    [{ maxConnsPerIp: "0" }, /invalid value for --max-conns-per-ip: "0"; expected .*at least 1/],
    [{ maxConnsPerIp: "-1" }, /--max-conns-per-ip: "-1"/],
    [{ handshakeRate: "2.5" }, /--handshake-rate: "2.5"/],
    [{ maxConnections: "0" }, /--max-connections: "0"/],
    [{ allowedOrigins: "" }, /--allowed-origins: ""/],
    [{ allowedOrigins: "https://a.example/" }, /--allowed-origins/],
    [{ requireOrigin: true }, /--require-origin: true; expected it together with --allowed-origins/],
    [{ exec: "true", handshakeRate: "5" }, /--handshake-rate: "5"; expected it with --haproxy/],
    [{ exec: "true", maxConnections: "5" }, /--max-connections: "5"; expected it without --exec/],
  ]) {
    assert.throws(
      () => validateOptions(raw, defaults),
      (error) => error.exitCode === 2 && message.test(error.message),
    );
  }
});

test("the worker environment carries the admission settings both ways", () => {
  const connections = {
    ...validateOptions({ allowedOrigins: "https://a.example", maxConnections: "7" }, defaults).fleet.connections,
  };
  const env = encodeWorkerEnv({
    programName: "p",
    index: 0,
    port: 9000,
    host: "127.0.0.1",
    sharedPort: false,
    appPath: undefined,
    busPath: undefined,
    ledgerPath: "/run/x/ledger.sock",
    connections,
  });
  const settings = decodeWorkerEnv(env);
  assert.deepEqual(settings.allowedOrigins, ["https://a.example"]);
  assert.equal(settings.maxConnections, 7);
  assert.equal(settings.requireOrigin, false);
  assert.equal(settings.ledgerPath, "/run/x/ledger.sock");
  assert.equal(decodeWorkerEnv({ PORT: "9000" }).maxConnections, undefined);
  assert.throws(() => decodeWorkerEnv({ PORT: "9000", WSFLEET_MAX_CONNECTIONS: "0" }), /WSFLEET_MAX_CONNECTIONS/);
});

test("HAProxy: the stick table and its 429s, only for the limits given, and haproxy-config's model has them", () => {
  assert.deepEqual(addressLimitLines({ maxConnsPerIp: 10, handshakeRatePerSec: undefined }), [
    "stick-table type ipv6 size 100k expire 30s store conn_cur,http_req_rate(1s)",
    "http-request track-sc0 src",
    'http-request return status 429 content-type text/plain string "too many connections from this address" if { sc_conn_cur(0) gt 10 }',
  ]);
  const both = addressLimitLines({ maxConnsPerIp: 10, handshakeRatePerSec: 5 });
  assert.match(both[2], /hdr Retry-After 1 if \{ sc_http_req_rate\(0\) gt 5 \}$/);
  const servers = serversFor("p", [{ host: "127.0.0.1", firstPort: 9000, lastPort: 9001 }]);
  const frontend = { host: "127.0.0.1", port: 9100 };
  assert.ok(!renderConfig(websocketModel({ servers, frontend })).includes("stick-table"));
  const text = renderConfig(
    websocketModel({ servers, frontend, addressLimits: { maxConnsPerIp: 4, handshakeRatePerSec: undefined } }),
  );
  const lines = text.split("\n").map((line) => line.trim());
  assert.ok(
    lines.indexOf("http-request track-sc0 src") < lines.indexOf("default_backend websocket"),
    "the limits are in the frontend",
  );
});

test("counters and status: refusals are summed by reason and shown with the limits", () => {
  const a = { ...createCounters(), refused: { origin: 2, "conns-per-ip": 1 } };
  const b = { ...createCounters(), refused: { origin: 3 } };
  assert.deepEqual(sumCounters([a, b]).refused, { origin: 5, "conns-per-ip": 1 });
  const status = {
    pid: 1,
    startedAt: "",
    workers: [{ counters: a }, { counters: b }, { counters: undefined }],
    haproxy: undefined,
    bus: undefined,
    addressLimits: { maxConnsPerIp: 10, handshakeRatePerSec: 5, enforcedBy: "ledger", trackedAddresses: 3 },
  };
  assert.equal(
    formatAdmission(status),
    "refused handshakes: origin 5, conns-per-ip 1\nper client address: at most 10 connections and 5 handshakes/s, by the primary's ledger, 3 addresses tracked\n",
  );
  assert.equal(formatAdmission({ ...status, workers: [], addressLimits: undefined }), "");
});

test("haproxy-config --max-conns-per-ip --handshake-rate: the stick table passes the real haproxy -c", async (t) => {
  const model = haproxyConfigModel({ workers: "2", maxConnsPerIp: "10", handshakeRate: "5/s" }, defaults);
  assert.deepEqual(model.frontend.addressLimits, { maxConnsPerIp: 10, handshakeRatePerSec: 5 });
  assert.equal(haproxyConfigModel({ workers: "2" }, defaults).frontend.addressLimits, undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-admission-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "limits.cfg");
  writeFileSync(file, renderConfig(model));
  await checkConfigFile("haproxy", file);
  assert.throws(
    () => haproxyConfigModel({ maxConnsPerIp: "0" }, defaults),
    /invalid value for --max-conns-per-ip: "0"/,
  );
});
