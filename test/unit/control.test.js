import assert from "node:assert/strict";
import { test } from "node:test";
import { describeClose } from "../../dist/cli/client.js";
import { isPrimaryCommandLine } from "../../dist/cli/find-primaries.js";
import { parseCommandLine } from "../../dist/cli/program.js";
import { validateOptions } from "../../dist/config/validate.js";
import { Sampler } from "../../dist/dashboard/samples.js";
import { WsfleetError } from "../../dist/errors.js";
import { keepingLines, LogRing } from "../../dist/log/ring.js";
import { createCounters } from "../../dist/protocol/counters.js";

const argv = (...args) => ["node", "wsfleet", ...args];

test("subcommands take their positional arguments and their options from the settings table", () => {
  assert.deepEqual(parseCommandLine(argv("scale", "4", "--pid", "12"), "0"), {
    command: "scale",
    raw: { pid: "12" },
    args: ["4"],
  });
  assert.deepEqual(parseCommandLine(argv("logs", "-f"), "0").args, [undefined]);
  assert.deepEqual(parseCommandLine(argv("logs", "websockets-test_01", "--follow"), "0"), {
    command: "logs",
    raw: { follow: true },
    args: ["websockets-test_01"],
  });
  assert.deepEqual(parseCommandLine(argv("client", "ws://localhost:8080/"), "0").args, ["ws://localhost:8080/"]);
});

test("the log ring keeps the last lines of each source, interleaved in order, and tells its followers", () => {
  const ring = new LogRing(2);
  const seen = [];
  const unfollow = ring.follow((entry) => seen.push(`${entry.source}: ${entry.text}`));
  const printed = [];
  const logger = keepingLines(
    { event: (_level, _event, message) => printed.push(message), workerLine: (_name, _s, line) => printed.push(line) },
    ring,
    () => new Date(0),
  );
  logger.workerLine("w_00", "stdout", "a");
  logger.event("info", "spawned", "spawned w_01");
  logger.workerLine("w_00", "stderr", "b");
  logger.workerLine("w_00", "stdout", "c");
  unfollow();
  logger.workerLine("w_01", "stdout", "d");
  assert.deepEqual(printed, ["a", "spawned w_01", "b", "c", "d"], "every line still reaches the log");
  assert.deepEqual(
    ring.tail("w_00", 10).map((entry) => entry.text),
    ["b", "c"],
    "two lines a source",
  );
  assert.deepEqual(
    ring.tail(undefined, 3).map((entry) => `${entry.source}: ${entry.text}`),
    ["w_00: b", "w_00: c", "w_01: d"],
  );
  assert.deepEqual(ring.tail("primary", 1)[0].text, "1970-01-01T00:00:00.000Z INFO spawned w_01");
  assert.equal(seen.length, 4, "no line after unfollow");
});

test("the dashboard's messages/s: the change over the last samples, from zero again for a new pid", () => {
  const sampler = new Sampler();
  const worker = (pid, messagesIn) => ({
    name: "w_00",
    state: "RUNNING",
    pid,
    port: 9000,
    restarts: 0,
    startedAt: 0,
    counters: { ...createCounters(), messagesIn, connectionsOpen: 2 },
  });
  assert.equal(sampler.sample([worker(1, 100)], undefined, 1000).messagesPerSec, 0, "no earlier sample");
  assert.equal(sampler.sample([worker(1, 300)], undefined, 2000).workers[0].messagesPerSec, 200);
  assert.equal(sampler.sample([worker(1, 300)], undefined, 3000).workers[0].messagesPerSec, 100, "over 2 s");
  const restarted = sampler.sample([worker(2, 10)], undefined, 4000);
  assert.equal(restarted.workers[0].messagesPerSec, 0, "the new pid's count is not compared with the old one's");
  assert.deepEqual(restarted.workers[0], {
    name: "w_00",
    state: "RUNNING",
    pid: 2,
    port: 9000,
    uptimeMs: 4000,
    restarts: 0,
    connections: 2,
    messagesPerSec: 0,
  });
  assert.deepEqual(sampler.history.messagesPerSec, [0, 200, 100, 0]);
  assert.deepEqual(sampler.history.times, [1, 2, 3, 4]);
});

test("--dashboard beyond loopback needs --dashboard-token; a token alone is a mistake", () => {
  const defaults = { cpuCount: 1 };
  assert.deepEqual(validateOptions({ dashboard: "9200" }, defaults).dashboard, {
    host: "127.0.0.1",
    port: 9200,
    token: undefined,
  });
  const refused = (raw, pattern) =>
    assert.throws(
      () => validateOptions(raw, defaults),
      (error) => error instanceof WsfleetError && error.exitCode === 2 && pattern.test(error.message),
    );
  refused({ dashboard: "0.0.0.0:9200" }, /--dashboard 0\.0\.0\.0:9200 listens beyond loopback.*add --dashboard-token/);
  refused({ dashboardToken: "0123456789abcdef" }, /--dashboard-token: .*together with --dashboard/);
  refused(
    { dashboard: "0.0.0.0:9200", dashboardToken: "short" },
    /--dashboard-token: "\(hidden\)"; expected at least 16/,
  );
  const open = validateOptions({ dashboard: "0.0.0.0:9200", dashboardToken: "0123456789abcdef" }, defaults);
  assert.equal(open.dashboard.token, "0123456789abcdef");
});

test("close codes read as python websockets prints them", () => {
  assert.equal(describeClose(1000, ""), "1000 (OK)");
  assert.equal(describeClose(1001, "bye"), "1001 (going away) bye");
  assert.equal(describeClose(1006, ""), "1006 (connection closed abnormally [internal])");
  assert.equal(describeClose(4000, ""), "4000 (private use)");
  assert.equal(describeClose(3001, ""), "3001 (registered)");
  assert.equal(describeClose(1234, ""), "1234 (unknown)");
});

test("isPrimaryCommandLine: node running primary.js or the wsfleet bin, not anything in a folder called wsfleet", () => {
  const yes = [
    ["/usr/bin/node", "/usr/lib/node_modules/wsfleet/dist/primary.js", "--workers", "4", "--haproxy"],
    ["node", "/usr/bin/wsfleet", "--workers", "2"],
    ["node", "--max-old-space-size=512", "dist/primary.js"],
    ["/usr/bin/node", "/srv/app/node_modules/.bin/wsfleet"],
  ];
  const no = [
    ["/usr/bin/node", "--test", "/home/dev/wsfleet/test/e2e/status.test.js"],
    ["node", "/home/dev/wsfleet/dist/worker.js"],
    ["node", "/home/dev/wsfleet/dist/guard.js", "123", "/tmp/wsfleet-123-"],
    ["vim", "/home/dev/wsfleet/README.md"],
    ["/usr/bin/node"],
  ];
  for (const argv of yes) assert.equal(isPrimaryCommandLine(argv), true, argv.join(" "));
  for (const argv of no) assert.equal(isPrimaryCommandLine(argv), false, argv.join(" "));
});
