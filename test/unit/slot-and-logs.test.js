import assert from "node:assert/strict";
import { test } from "node:test";
import { slotFor } from "../../dist/fleet/slot.js";
import { LineSplitter } from "../../dist/log/line-splitter.js";
import { createLogger } from "../../dist/log/logger.js";
import { encodeWorkerEnv } from "../../dist/protocol/worker-env.js";

test("slots are named like Supervisor's process_name %(program_name)s_%(process_num)02d, port = base + index", () => {
  const consecutive = { kind: "consecutive", basePort: 8000 };
  const slot = slotFor("websockets-test", consecutive, 3);
  assert.deepEqual({ ...slot }, { index: 3, name: "websockets-test_03", port: 8003 });
  assert.equal(slotFor("app", { kind: "consecutive", basePort: 9000 }, 12).name, "app_12");
  assert.equal(slotFor("app", { kind: "shared", port: 9000 }, 12).port, 9000);
  const env = encodeWorkerEnv({
    programName: "websockets-test",
    index: slot.index,
    port: slot.port,
    host: "localhost",
    sharedPort: false,
    appPath: undefined,
    connections: {
      maxPayloadBytes: 1,
      idleTimeoutSecs: 0,
      maxBackpressureBytes: 1,
      compression: "off",
      drainTimeoutMs: 0,
      trustProxy: false,
      allowedOrigins: [],
      requireOrigin: false,
      maxConnections: undefined,
    },
  });
  assert.deepEqual(
    {
      SUPERVISOR_ENABLED: env.SUPERVISOR_ENABLED,
      SUPERVISOR_PROCESS_NAME: env.SUPERVISOR_PROCESS_NAME,
      SUPERVISOR_GROUP_NAME: env.SUPERVISOR_GROUP_NAME,
      PORT: env.PORT,
    },
    {
      SUPERVISOR_ENABLED: "1",
      SUPERVISOR_PROCESS_NAME: "websockets-test_03",
      SUPERVISOR_GROUP_NAME: "websockets-test",
      PORT: "8003",
    },
  );
});

test("the guide's app derives its port from the last two digits of the process name", () => {
  for (let index = 0; index < 4; index += 1) {
    const slot = slotFor("websockets-test", { kind: "consecutive", basePort: 8000 }, index);
    assert.equal(8000 + Number(slot.name.slice(-2)), slot.port);
  }
});

test("LineSplitter joins lines split across chunks and flushes the last one", () => {
  const lines = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  splitter.push("one\ntw");
  splitter.push("o\r\nthr");
  splitter.flush();
  assert.deepEqual(lines, ["one", "two", "thr"]);
});

test("text logs prefix worker lines with the worker name; JSON logs are one object a line", () => {
  const out = [];
  const err = [];
  const sink = { stdout: (text) => out.push(text), stderr: (text) => err.push(text) };
  const now = () => new Date("2026-01-01T00:00:00Z");
  const text = createLogger("text", sink, now);
  text.workerLine("websockets-test_01", "stdout", "hello");
  text.event("info", "spawned", "spawned: 'websockets-test_01' with pid 7");
  assert.deepEqual(out, ["websockets-test_01 | hello\n"]);
  assert.deepEqual(err, ["2026-01-01T00:00:00.000Z INFO spawned: 'websockets-test_01' with pid 7\n"]);
  out.length = 0;
  const json = createLogger("json", sink, now);
  json.event("error", "fatal", "gave up", { worker: "w_00", pid: 9 });
  assert.deepEqual(JSON.parse(out[0]), {
    time: "2026-01-01T00:00:00.000Z",
    level: "error",
    event: "fatal",
    message: "gave up",
    worker: "w_00",
    pid: 9,
  });
});

test("the status table aligns one row a worker, HAProxy's view of each, and a row for haproxy", async () => {
  const { formatStatus } = await import("../../dist/cli/status.js");
  const text = formatStatus(
    {
      pid: 10,
      startedAt: "2026-01-01T00:00:00.000Z",
      workers: [
        {
          name: "w_00",
          port: 8000,
          state: "RUNNING",
          pid: 11,
          restarts: 0,
          startedAt: 0,
          counters: { connectionsOpen: 7 },
        },
        {
          name: "w_01",
          port: 8001,
          state: "BACKOFF",
          pid: undefined,
          restarts: 3,
          startedAt: undefined,
          counters: undefined,
        },
      ],
      haproxy: { pid: 12, state: "RUNNING", restarts: 1, servers: { w_00: "UP", w_01: "DOWN (maint)" } },
    },
    3_723_000,
  );
  assert.equal(
    text,
    [
      "primary pid 10, up since 2026-01-01T00:00:00.000Z",
      "NAME     STATE    PID  PORT  UPTIME   RESTARTS  CONNS  HAPROXY",
      "w_00     RUNNING  11   8000  1:02:03  0         7      UP",
      "w_01     BACKOFF  -    8001  -        3         -      DOWN (maint)",
      "haproxy  RUNNING  12   -     -        1         -      -",
      "",
    ].join("\n"),
  );
});
