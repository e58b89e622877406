import assert from "node:assert/strict";
import { test } from "node:test";
import { Registry } from "prom-client";
import { validateOptions } from "../../dist/config/validate.js";
import { WsfleetError } from "../../dist/errors.js";
import { fleetMetrics } from "../../dist/metrics/prometheus.js";
import { METRICS_CONTENT_TYPE } from "../../dist/metrics/server.js";
import { createCounters, sumCounters } from "../../dist/protocol/counters.js";
import { decodeWorkerEnv, encodeWorkerEnv } from "../../dist/protocol/worker-env.js";
import { frameLimitBytes } from "../../dist/worker/host.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };

test("worker limits default to python websockets' 1 MiB, 40 s idle (ping at 20 s), 64 KiB backpressure, no compression, 1 s drain", () => {
  const options = validateOptions({}, defaults);
  const { connections } = options.fleet;
  assert.equal(connections.maxPayloadBytes, 1024 * 1024);
  assert.equal(connections.idleTimeoutSecs, 40);
  assert.equal(connections.maxBackpressureBytes, 64 * 1024);
  assert.equal(connections.compression, "off");
  assert.equal(connections.drainTimeoutMs, 1000);
  assert.equal(options.fleet.ports.kind, "consecutive");
  assert.equal(options.metrics, undefined);
});

test("sizes take binary units; bad ones name the option", () => {
  assert.equal(validateOptions({ maxPayload: "64KiB" }, defaults).fleet.connections.maxPayloadBytes, 65536);
  assert.equal(validateOptions({ maxPayload: "2mib" }, defaults).fleet.connections.maxPayloadBytes, 2 * 1024 * 1024);
  assert.equal(validateOptions({ maxBackpressure: "1000" }, defaults).fleet.connections.maxBackpressureBytes, 1000);
  for (const [raw, pattern] of [
    [{ maxPayload: "lots" }, /--max-payload: "lots"/],
    [{ maxPayload: "0" }, /--max-payload: "0"/],
    [{ maxPayload: "3GiB" }, /--max-payload: "3GiB"/],
    [{ idleTimeout: "5" }, /--idle-timeout: "5"; expected 0 \(off\) or at least 8 seconds/],
    [{ compression: "gzip" }, /--compression: "gzip"; expected off, shared or dedicated/],
    [{ sharedPort: "70000" }, /--shared-port: "70000"/],
    [{ metrics: "host:" }, /--metrics: "host:"/],
    [{ app: "./x.js", exec: "python3 app.py" }, /--app/],
  ]) {
    assert.throws(
      () => validateOptions(raw, defaults),
      (error) => error instanceof WsfleetError && pattern.test(error.message),
    );
  }
  assert.deepEqual(validateOptions({ metrics: "9100" }, defaults).metrics, { host: "127.0.0.1", port: 9100 });
  assert.deepEqual(validateOptions({ metrics: "0.0.0.0:9100" }, defaults).metrics, { host: "0.0.0.0", port: 9100 });
});

test("a shared port has no consecutive-port overflow", () => {
  const options = validateOptions({ workers: "8", basePort: "65535", sharedPort: "8080" }, defaults);
  assert.deepEqual(options.fleet.ports, { kind: "shared", port: 8080 });
});

test("the worker reads its settings from the environment, with the same defaults, and rejects nonsense", () => {
  const settings = decodeWorkerEnv({ PORT: "9000" });
  assert.deepEqual(
    { ...settings },
    {
      workerName: "worker-9000",
      host: "localhost",
      port: 9000,
      exclusivePort: true,
      maxPayloadBytes: 1024 * 1024,
      idleTimeoutSecs: 40,
      maxBackpressureBytes: 65536,
      compression: "off",
      drainTimeoutMs: 1000,
      drainSpreadMs: 2000,
      appPath: undefined,
      trustProxy: false,
      busPath: undefined,
      ledgerPath: undefined,
      history: 0,
      allowedOrigins: [],
      requireOrigin: false,
      maxConnections: undefined,
      tls: undefined,
      broker: undefined,
    },
  );
  assert.equal(decodeWorkerEnv({ PORT: "9000", WSFLEET_SHARED_PORT: "1" }).exclusivePort, false);
  assert.throws(() => decodeWorkerEnv({}), /PORT must be a whole number from 1 to 65535, got undefined/);
  assert.throws(() => decodeWorkerEnv({ PORT: "1", WSFLEET_COMPRESSION: "zip" }), /WSFLEET_COMPRESSION/);
});

test("what the primary encodes the worker decodes: one file holds both sides of the worker environment", () => {
  const options = validateOptions(
    {
      maxPayload: "64KiB",
      idleTimeout: "16",
      compression: "shared",
      drainTimeout: "2.5",
      drainSpread: "0.5",
      trustProxy: true,
    },
    defaults,
  );
  const env = encodeWorkerEnv({
    programName: "chat",
    index: 7,
    port: 9007,
    host: "127.0.0.1",
    sharedPort: false,
    appPath: "/srv/app.js",
    busPath: "/tmp/wsfleet-1-x/bus.sock",
    ledgerPath: "/tmp/wsfleet-1-x/ledger.sock",
    connections: options.fleet.connections,
    tlsPemFile: "/run/wsfleet/tls.pem",
  });
  assert.equal(env.SUPERVISOR_PROCESS_NAME, "chat_07");
  assert.equal(env.SUPERVISOR_GROUP_NAME, "chat");
  assert.deepEqual(
    { ...decodeWorkerEnv(env) },
    {
      workerName: "chat_07",
      host: "127.0.0.1",
      port: 9007,
      exclusivePort: true,
      appPath: "/srv/app.js",
      busPath: "/tmp/wsfleet-1-x/bus.sock",
      ledgerPath: "/tmp/wsfleet-1-x/ledger.sock",
      history: 0,
      tls: { certFile: "/run/wsfleet/tls.pem", keyFile: "/run/wsfleet/tls.pem" },
      broker: undefined,
      ...options.fleet.connections,
    },
  );
});

test("uWS gets twice our limit so a message just over ours gets a real 1009 close frame", () => {
  assert.equal(frameLimitBytes(1024), 2048);
  assert.equal(frameLimitBytes(2 ** 31 - 1), 2 ** 31 - 1);
});

test("counters add up across workers, close codes by code", () => {
  const a = { ...createCounters(), connectionsOpen: 2, messagesIn: 10, closeCodes: { 1000: 3 } };
  const b = { ...createCounters(), connectionsOpen: 1, messagesIn: 5, closeCodes: { 1000: 1, 1006: 2 } };
  const total = sumCounters([a, b]);
  assert.equal(total.connectionsOpen, 3);
  assert.equal(total.messagesIn, 15);
  assert.deepEqual(total.closeCodes, { 1000: 4, 1006: 2 });
});

test("metrics render in Prometheus text format per worker, with states, HAProxy's view and versions", async () => {
  const counters = { ...createCounters(), connectionsOpen: 4, connectionsTotal: 9, closeCodes: { 1001: 5 } };
  const workers = [
    { name: "w_00", port: 8000, state: "RUNNING", pid: 1, restarts: 2, startedAt: 0, counters },
    {
      name: "w_01",
      port: 8001,
      state: "BACKOFF",
      pid: undefined,
      restarts: 1,
      startedAt: undefined,
      counters: undefined,
    },
  ];
  const haproxy = { pid: 7, state: "RUNNING", restarts: 1, servers: { w_00: "UP", w_01: "DOWN (drain)" } };
  const render = fleetMetrics(async () => ({ workers, haproxy }), { wsfleet: "1.2.3", node: "20.0.0" });
  const text = await render();
  assert.match(text, /^# TYPE wsfleet_connections_open gauge$/m);
  assert.match(text, /^wsfleet_info\{version="1.2.3",nodejs="20.0.0"\} 1$/m);
  assert.match(text, /^wsfleet_workers\{state="RUNNING"\} 1$/m);
  assert.match(text, /^wsfleet_workers\{state="BACKOFF"\} 1$/m);
  assert.match(text, /^wsfleet_workers\{state="FATAL"\} 0$/m);
  assert.match(text, /^wsfleet_haproxy_server\{server="w_00",state="UP",admin="ready"\} 1$/m);
  assert.match(text, /^wsfleet_haproxy_server\{server="w_01",state="DOWN",admin="drain"\} 1$/m);
  assert.match(text, /^wsfleet_haproxy_restarts_total 1$/m);
  assert.match(text, /^wsfleet_worker_running\{worker="w_00",port="8000",state="RUNNING"\} 1$/m);
  assert.match(text, /^wsfleet_worker_running\{worker="w_01",port="8001",state="BACKOFF"\} 0$/m);
  assert.match(text, /^wsfleet_worker_restarts_total\{worker="w_00",port="8000"\} 2$/m);
  assert.match(text, /^wsfleet_connections_open\{worker="w_00",port="8000"\} 4$/m);
  assert.match(text, /^wsfleet_close_codes_total\{worker="w_00",port="8000",code="1001"\} 5$/m);
  assert.doesNotMatch(text, /wsfleet_connections_open\{worker="w_01"/);
  // A second scrape reads the new snapshot: no series left over from the first.
  workers.pop();
  assert.doesNotMatch(await render(), /worker="w_01"/);
});

test("/metrics is served with prom-client's content type, written out so serving needs no prom-client loaded", () => {
  assert.equal(METRICS_CONTENT_TYPE, Registry.PROMETHEUS_CONTENT_TYPE);
});
