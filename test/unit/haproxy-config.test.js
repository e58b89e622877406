import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { haproxyConfigModel, parseServerHosts } from "../../dist/cli/haproxy-config.js";
import { validateOptions } from "../../dist/config/validate.js";
import { WsfleetError } from "../../dist/errors.js";
import { checkConfigFile } from "../../dist/haproxy/check.js";
import { formatDuration, renderConfig } from "../../dist/haproxy/config.js";
import { seedModel, serversFor, websocketModel } from "../../dist/haproxy/model.js";
import { parseServerChange } from "../../dist/haproxy/process.js";
import { parseServersState } from "../../dist/haproxy/runtime.js";
import { PRIMARY } from "../helpers/fleet.js";

const GUIDE_CFG = readFileSync(fileURLToPath(new URL("../../examples/haproxy.cfg", import.meta.url)), "utf8");
const defaults = { webConcurrency: undefined, cpuCount: 2 };
const run = promisify(execFile);

test("the seed model renders the guide's haproxy.cfg byte for byte, and so does `haproxy-config --seed`", async () => {
  assert.equal(renderConfig(seedModel()), GUIDE_CFG);
  assert.equal((await run(process.execPath, [PRIMARY, "haproxy-config", "--seed"])).stdout, GUIDE_CFG);
});

test("the WebSocket model keeps every guide setting and adds tunnel, client-fin, HTTP/1.1 checks, retries, maxconn", () => {
  const text = renderConfig(haproxyConfigModel({}, { ...defaults, cpuCount: 4 }));
  const lines = text.split("\n").map((line) => line.trim());
  for (const line of GUIDE_CFG.split("\n").map((each) => each.trim())) {
    // The guide's server lines gain " check" (health checks); every other line is kept as it is.
    assert.ok(lines.includes(line) || lines.includes(`${line} check`), `guide line kept: ${line}`);
  }
  for (const line of [
    "timeout tunnel 1h",
    "timeout client-fin 30s",
    "option httpchk",
    "http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host localhost",
    "default-server inter 1s fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down",
    "option redispatch 1",
    "retry-on conn-failure empty-response response-timeout 503",
    "maxconn 10000",
    "server websockets-test_03 localhost:8003 check",
  ]) {
    assert.ok(lines.includes(line), `added: ${line}`);
  }
});

test("every rendered variant passes haproxy -c, and a broken one fails with haproxy's own error", async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const servers = serversFor("websockets-test", [{ host: "127.0.0.1", firstPort: 9000, lastPort: 9003 }]);
  const variants = {
    seed: seedModel(),
    websocket: websocketModel({ servers, frontend: { host: "localhost", port: 8080 } }),
    "runtime socket + stats + tunnel 90s": websocketModel({
      servers,
      frontend: { host: "127.0.0.1", port: 18080 },
      runtimeSocket: path.join(dir, "haproxy.sock"),
      stats: { host: "127.0.0.1", port: 18404 },
      tunnelTimeoutMs: 90_000,
    }),
    "two hosts": haproxyConfigModel({ serverHosts: "127.0.0.2:8000-8003,127.0.0.3:8000-8003" }, defaults),
    "IPv6 host": haproxyConfigModel({ host: "::1", workers: "2", frontendHost: "::1" }, defaults),
    "wildcard host, own name": haproxyConfigModel({ host: "0.0.0.0", name: "chat", workers: "8" }, defaults),
    "TCP checks for --exec": websocketModel({
      servers,
      frontend: { host: "localhost", port: 8080 },
      httpHealthCheck: false,
    }),
  };
  for (const [name, model] of Object.entries(variants)) {
    const file = path.join(dir, `${name.replace(/\W+/g, "-")}.cfg`);
    writeFileSync(file, renderConfig(model));
    await checkConfigFile("haproxy", file);
  }
  const broken = path.join(dir, "broken.cfg");
  writeFileSync(broken, `${renderConfig(variants.websocket)}    balance no-such-algorithm\n`);
  await assert.rejects(checkConfigFile("haproxy", broken), (error) => {
    assert.ok(error instanceof WsfleetError);
    assert.equal(error.code, "WSFLEET_HAPROXY_CONFIG_INVALID");
    assert.match(error.message, /broken\.cfg:\d+\] : balance only supports 'roundrobin'/);
    return true;
  });
});

test("--exec programs get TCP connect checks: no httpchk, but every server still checked", () => {
  const servers = serversFor("websockets-test", [{ host: "127.0.0.1", firstPort: 9000, lastPort: 9001 }]);
  const text = renderConfig(
    websocketModel({ servers, frontend: { host: "localhost", port: 8080 }, httpHealthCheck: false }),
  );
  assert.doesNotMatch(text, /httpchk|http-check/);
  assert.match(text, /default-server inter 1s fall 2 rise 1/);
  assert.match(text, /server websockets-test_01 127\.0\.0\.1:9001 check/);
});

test("server names: <name>_<NN> on one host, <name>_<host>_<NN> across hosts; a wildcard host is reached on loopback", () => {
  const two = haproxyConfigModel({ serverHosts: "127.0.0.2:8000-8001, 127.0.0.3:9000" }, defaults).backend.servers;
  assert.deepEqual(
    two.map((server) => `${server.name} ${server.address.host}:${server.address.port}`),
    [
      "websockets-test_127.0.0.2_00 127.0.0.2:8000",
      "websockets-test_127.0.0.2_01 127.0.0.2:8001",
      "websockets-test_127.0.0.3_00 127.0.0.3:9000",
    ],
  );
  const wildcard = haproxyConfigModel({ host: "0.0.0.0", workers: "1" }, defaults).backend.servers;
  assert.deepEqual(wildcard, [{ name: "websockets-test_00", address: { host: "127.0.0.1", port: 8000 } }]);
  assert.equal(formatDuration(3_600_000), "1h");
  assert.equal(formatDuration(90_000), "90s");
  assert.equal(formatDuration(1500), "1500ms");
});

test("bad haproxy options name the option, the value and the fix", () => {
  const cases = [
    [() => parseServerHosts("127.0.0.2"), /--server-hosts: "127.0.0.2"; expected host:first-last port ranges/],
    [() => parseServerHosts("a:8003-8000"), /a first port not above the last one/],
    [() => haproxyConfigModel({ serverHosts: "a:1", workers: "2" }, defaults), /either --server-hosts or --workers/],
    [
      () => validateOptions({ frontendPort: "9000" }, defaults),
      /--frontend-port: "9000"; expected it together with --haproxy/,
    ],
    [() => validateOptions({ haproxy: true, frontendPort: "0" }, defaults), /--frontend-port: "0"; expected a port/],
    [
      () => validateOptions({ haproxy: true, haproxyStats: "8404" }, defaults),
      /--haproxy-stats: "8404"; expected an address and port/,
    ],
    [() => validateOptions({ drainTimeout: "-1" }, defaults), /--drain-timeout: "-1"/],
  ];
  for (const [call, pattern] of cases) {
    assert.throws(
      call,
      (error) => error instanceof WsfleetError && error.exitCode === 2 && pattern.test(error.message),
    );
  }
  const options = validateOptions({ haproxy: true, haproxyStats: "127.0.0.1:8404", drainTimeout: "2.5" }, defaults);
  assert.deepEqual(options.haproxy, {
    bin: "haproxy",
    frontend: { host: "localhost", port: 8080 },
    stats: { host: "127.0.0.1", port: 8404 },
    tunnelTimeoutMs: 3_600_000,
  });
  assert.equal(options.fleet.connections.drainTimeoutMs, 2500);
});

test("runtime API answers and HAProxy's log lines are parsed into server states", () => {
  const text = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change
3 websocket 1 websockets-test_00 127.0.0.1 2 0 1 1 4
3 websocket 2 websockets-test_01 127.0.0.1 0 8 1 1 5
3 websocket 3 websockets-test_02 127.0.0.1 2 1 1 1 5
`;
  assert.deepEqual(parseServersState(text), [
    { backend: "websocket", server: "websockets-test_00", operational: "UP", admin: "ready" },
    { backend: "websocket", server: "websockets-test_01", operational: "DOWN", admin: "drain" },
    { backend: "websocket", server: "websockets-test_02", operational: "UP", admin: "maint" },
  ]);
  assert.deepEqual(
    parseServerChange(
      '[WARNING]  (42) : Server websocket/websockets-test_01 is DOWN, reason: Layer4 connection problem, info: "Connection refused".',
    ),
    {
      server: "websockets-test_01",
      state: "DOWN",
      detail: 'reason: Layer4 connection problem, info: "Connection refused".',
    },
  );
  assert.equal(parseServerChange("Server websocket/websockets-test_01 enters drain state."), undefined);
});
