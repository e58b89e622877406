import assert from "node:assert/strict";
import { test } from "node:test";
import { validateOptions } from "../../dist/config/validate.js";
import { WsfleetError } from "../../dist/errors.js";

const defaults = { webConcurrency: undefined, cpuCount: 2 };

function rejects(raw, pattern, env = defaults) {
  assert.throws(
    () => validateOptions(raw, env),
    (error) => {
      assert.ok(error instanceof WsfleetError);
      assert.equal(error.code, "WSFLEET_INVALID_OPTION");
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test("defaults follow the guide: port 8000, localhost, websockets-test, one worker per CPU", () => {
  const options = validateOptions({}, defaults);
  assert.deepEqual(options, {
    fleet: {
      name: "websockets-test",
      workers: 2,
      host: "localhost",
      ports: { kind: "consecutive", basePort: 8000 },
      worker: { kind: "builtin", app: undefined },
      connections: {
        maxPayloadBytes: 1024 * 1024,
        idleTimeoutSecs: 40,
        maxBackpressureBytes: 64 * 1024,
        compression: "off",
        drainTimeoutMs: 1000,
        drainSpreadMs: 2000,
        trustProxy: false,
        allowedOrigins: [],
        requireOrigin: false,
        maxConnections: undefined,
      },
    },
    supervision: { startSecs: 1, startRetries: 3, stopTimeoutMs: 10_000 },
    logFormat: "text",
    runtimeDir: undefined,
    metrics: undefined,
    dashboard: undefined,
    haproxy: undefined,
    history: undefined,
    broker: undefined,
    tls: undefined,
    addressLimits: undefined,
  });
  assert.ok(Object.isFrozen(options));
  assert.ok(Object.isFrozen(options.fleet) && Object.isFrozen(options.fleet.connections));
});

test("WEB_CONCURRENCY sets the worker count when --workers is absent, and --workers wins over it", () => {
  assert.equal(validateOptions({}, { webConcurrency: "3", cpuCount: 2 }).fleet.workers, 3);
  assert.equal(validateOptions({ workers: "5" }, { webConcurrency: "3", cpuCount: 2 }).fleet.workers, 5);
  rejects({}, /WEB_CONCURRENCY: "many"/, { webConcurrency: "many", cpuCount: 2 });
});

test("--workers 0 and abc name the option, the value and the fix", () => {
  rejects(
    { workers: "0" },
    /--workers: "0"; expected a whole number of workers from 1 to 1024, for example --workers 4/,
  );
  rejects({ workers: "abc" }, /--workers: "abc"/);
  rejects({ workers: "2.5" }, /--workers: "2.5"/);
  rejects({ workers: "-1" }, /--workers: "-1"/);
});

test("a base port whose last worker would pass 65535 is refused with the largest base that fits", () => {
  rejects({ basePort: "65534", workers: "4" }, /--base-port: "65534"; expected .*at most 65532/);
  rejects({ basePort: "70000", workers: "1" }, /--base-port: "70000"/);
  rejects({ basePort: "0", workers: "1" }, /--base-port: "0"/);
  assert.deepEqual(validateOptions({ basePort: "65532", workers: "4" }, defaults).fleet.ports, {
    kind: "consecutive",
    basePort: 65532,
  });
});

test("durations, names and formats are checked", () => {
  rejects({ startSecs: "-1" }, /--start-secs: "-1"/);
  rejects({ startRetries: "x" }, /--start-retries: "x"/);
  rejects({ stopTimeout: "0" }, /--stop-timeout: "0"/);
  rejects({ name: "my app" }, /--name: "my app"/);
  rejects({ logFormat: "xml" }, /--log-format: "xml"; expected text or json/);
  rejects({ exec: "  " }, /--exec/);
  rejects({ host: "" }, /--host/);
  const options = validateOptions({ startSecs: "0.5", stopTimeout: "2.5", exec: " python3 app.py " }, defaults);
  assert.equal(options.supervision.startSecs, 0.5);
  assert.equal(options.supervision.stopTimeoutMs, 2500);
  assert.deepEqual(options.fleet.worker, { kind: "exec", command: "python3 app.py" });
});
