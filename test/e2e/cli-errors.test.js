import assert from "node:assert/strict";
import { test } from "node:test";
import { runPrimary, startPrimary } from "../helpers/fleet.js";
import { freePortRange, holdPort } from "../helpers/ports.js";

test("invalid options exit 2 naming the option, the value and the fix, and start nothing", async () => {
  const cases = [
    [
      ["--workers", "0"],
      /WSFLEET_INVALID_OPTION: invalid value for --workers: "0"; expected a whole number of workers from 1 to 1024/,
    ],
    [["--workers", "abc"], /--workers: "abc"/],
    [
      ["--workers", "4", "--base-port", "65534"],
      /--base-port: "65534"; expected a base port that leaves room for 4 workers: at most 65532/,
    ],
    [["--log-format", "yaml"], /--log-format: "yaml"; expected text or json/],
  ];
  for (const [args, pattern] of cases) {
    const { code, stderr } = await runPrimary(args);
    assert.equal(code, 2, args.join(" "));
    assert.match(stderr, pattern);
    assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace for an expected mistake");
  }
});

test("commander's own usage errors exit 2 too, and --help exits 0", async () => {
  const unknown = await runPrimary(["--wokers", "4"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown option '--wokers'/);
  const help = await runPrimary(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--base-port <port>/);
  assert.match(help.stdout, /SIGHUP\s+reload: with --config, the file is re-read/);
});

test("a port in use: exit 2 with the port and the pid that holds it", async (t) => {
  const base = await freePortRange(3);
  await holdPort(t, base + 1);
  const { code, stderr } = await runPrimary(["--workers", "3", "--base-port", String(base)]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    new RegExp(
      `WSFLEET_PORT_IN_USE: port ${base + 1} on localhost is already in use by pid ${process.pid} \\(.*node.*\\)`,
    ),
  );
  assert.match(stderr, /choose another --base-port/);
});

test("a --metrics port in use: exit 2 naming --metrics, before any worker starts", async (t) => {
  const base = await freePortRange(2);
  await holdPort(t, base + 1);
  const { code, stderr } = await runPrimary([
    ...["--workers", "1", "--base-port", String(base), "--log-format", "json"],
    ...["--metrics", `127.0.0.1:${base + 1}`],
  ]);
  assert.equal(code, 2);
  assert.match(
    stderr,
    new RegExp(`port ${base + 1} on 127.0.0.1 is already in use by pid ${process.pid}.*another --metrics`),
  );
  assert.doesNotMatch(stderr, /"event":"spawned"/);
});

test("--haproxy with a --frontend-host that does not resolve: exit 2 naming the option, before any worker starts", async () => {
  const base = await freePortRange(2);
  const { code, stderr } = await runPrimary([
    ...["--workers", "1", "--base-port", String(base), "--host", "127.0.0.1", "--log-format", "json"],
    ...["--haproxy", "--frontend-host", "no-such-host.invalid", "--frontend-port", String(base + 1)],
  ]);
  assert.equal(code, 2, stderr);
  assert.match(
    stderr,
    /invalid value for --frontend-host: "no-such-host.invalid"; expected a name this machine resolves \(the lookup failed with ENOTFOUND: is it in \/etc\/hosts\?\), or an address such as 127.0.0.1/,
  );
  assert.doesNotMatch(stderr, /"event":"spawned"/);
  assert.doesNotMatch(stderr, /haproxy -c/);
});

test("a second fleet on the same ports fails with port in use instead of sharing them (exclusive listen)", async (t) => {
  const base = await freePortRange(1);
  const first = startPrimary(t, ["--workers", "1", "--base-port", String(base), "--start-secs", "0"]);
  const running = await first.waitForRunning(1);
  const second = await runPrimary(["--workers", "1", "--base-port", String(base)]);
  assert.equal(second.code, 2);
  assert.match(
    second.stderr,
    new RegExp(`port ${base} on localhost is already in use by pid ${running.get("websockets-test_00")}`),
  );
});
