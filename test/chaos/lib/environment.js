/** Scenarios about what the fleet is given: wrong options and environments, and what it exposes (security). */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SETTINGS } from "../../../dist/config/settings.js";
import { connect } from "../../helpers/clients.js";
import { runPrimary, startPrimary } from "../../helpers/fleet.js";
import { startHaproxyFleet } from "../../helpers/haproxy.js";
import { freePortRange, holdPort } from "../../helpers/ports.js";
import { checked, recordFigures } from "./figures.js";
import { runningWorkers } from "./fleet-state.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

/** Wrong values for the options whose values are free text; every other option gets "nonsense!" and "-1". */
const BAD_VALUES = {
  host: ["", "a b"],
  frontendHost: ["", "a b"],
  name: ["bad name!", "-x"],
  exec: ["", "  "],
  app: ["/nonexistent/app.mjs", ""],
  haproxyBin: ["/nonexistent/haproxy", ""],
  statsSocket: ["", "relative dir/"],
  runtimeDir: ["", "/etc/hostname"],
  user: ["", "no such user!"],
};
const NEEDS_HAPROXY = new Set(["haproxyBin", "frontendHost", "frontendPort", "haproxyStats", "tunnelTimeout"]);

function longFlag(setting) {
  return setting.flags.split(", ").pop().split(" ")[0];
}

/** Every option of every command, given each wrong value: exit 2 and a message that names the option. */
export async function badOptions(key, { only } = {}) {
  const base = await freePortRange(2);
  const rows = [];
  for (const [name, setting] of Object.entries(SETTINGS)) {
    if (setting.isSwitch || (only && !only.includes(name))) continue;
    const flag = longFlag(setting);
    const command = setting.commands.includes("run") ? [] : [setting.commands[0]];
    for (const value of BAD_VALUES[name] ?? ["nonsense!", "-1"]) {
      // A value that slipped through would start a fleet: on free ports, and killed by runPrimary's timeout.
      const safety =
        command.length === 0 && name !== "basePort" ? ["--base-port", String(base), "--host", "127.0.0.1"] : [];
      const args = [...command, ...safety, ...(NEEDS_HAPROXY.has(name) ? ["--haproxy"] : []), `${flag}=${value}`];
      const { code, stderr } = await runPrimary(args, { timeoutMs: 10_000 });
      const line = stderr.split("\n").find((each) => each.startsWith("wsfleet: ")) ?? stderr.trim().split("\n").pop();
      rows.push({
        option: flag,
        value: JSON.stringify(value),
        exit: code,
        "names the option": line?.includes(flag) ?? false,
        message: line,
      });
    }
  }
  const wrong = rows.filter((row) => row.exit !== 2 || !row["names the option"]);
  recordFigures(key, {
    title: "Bad options",
    what: "Every option of the settings table (every command), each with wrong values.",
    figures: { cases: rows.length, "exit 2 naming the option": rows.length - wrong.length },
    rows: rows.map(({ message, ...row }) => ({ ...row, message: message?.slice(0, 110) })),
  });
  await checked(key, () => assert.deepEqual(wrong, []));
}

/** Port in use, a runtime directory that cannot be made, no haproxy on PATH: exit 2, a code and the fix. */
export async function badEnvironment(t, key) {
  const base = await freePortRange(2);
  await holdPort(t, base + 1);
  const fleetArgs = ["--workers", "2", "--base-port", String(base), "--host", "127.0.0.1"];
  const cases = [
    {
      case: "port in use (worker 01's)",
      args: fleetArgs,
      env: {},
      expect: /WSFLEET_PORT_IN_USE: port \d+ on 127\.0\.0\.1 is already in use/,
    },
    // As root, a missing directory is simply created (`--runtime-dir`'s mkdir -p): these two cannot be.
    {
      case: "TMPDIR is a file",
      args: fleetArgs,
      env: { TMPDIR: "/etc/hostname" },
      expect: /WSFLEET_RUNTIME_DIR: .*\/etc\/hostname.*--runtime-dir/,
    },
    {
      case: "TMPDIR under /proc",
      args: fleetArgs,
      env: { TMPDIR: "/proc/wsfleet-test" },
      expect: /WSFLEET_RUNTIME_DIR/,
    },
    {
      case: "no haproxy on PATH",
      args: ["--workers", "1", "--base-port", String(base), "--haproxy"],
      env: { PATH: "/nonexistent" },
      expect: /WSFLEET_HAPROXY_NOT_FOUND: .*apt-get install -y haproxy/,
    },
  ];
  const rows = [];
  for (const each of cases) {
    const { code, stderr } = await runPrimary(each.args, { env: each.env, timeoutMs: 10_000 });
    const line = stderr.split("\n").find((text) => text.startsWith("wsfleet: ")) ?? stderr.trim();
    rows.push({
      case: each.case,
      exit: code,
      matches: each.expect.test(stderr),
      "stack trace": /\n\s+at /.test(stderr),
      message: line.slice(0, 150),
    });
  }
  recordFigures(key, { title: "Bad environment", what: "What a new user's machine can get wrong.", rows });
  await checked(key, () => {
    for (const row of rows) {
      assert.equal(row.exit, 2, row.case);
      assert.ok(row.matches, `${row.case}: ${row.message}`);
      assert.equal(row["stack trace"], false, row.case);
    }
  });
}

/** Listening TCP sockets of `pids`: their local addresses, from `ss -ltnp`. */
function listeningAddresses(pids) {
  const output = execFileSync("ss", ["-Hltnp"], { encoding: "utf8" });
  return output
    .split("\n")
    .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
    .map((line) => line.trim().split(/\s+/)[3]);
}

function isLoopback(address) {
  return /^127\.\d+\.\d+\.\d+:\d+$/.test(address) || /^\[::1\]:\d+$/.test(address);
}

function mode(file) {
  return (statSync(file).mode & 0o777).toString(8).padStart(4, "0");
}

/**
 * Loopback unless told otherwise, a warning when told 0.0.0.0, private sockets, `npm audit --omit=dev`, and no
 * secret from the environment or from a client's request in any log line.
 */
export async function security(t, key, { audit = true } = {}) {
  const secret = "s3cr3t-token-4f9b2";
  const metricsPort = await freePortRange(1);
  const fleet = await startHaproxyFleet(t, 2, ["--metrics", String(metricsPort), "--trust-proxy"], { stats: true });
  // Defaults for the workers' and metrics' hosts: the helper passes 127.0.0.1 for workers and frontend, so check a
  // default fleet too (below) for `localhost`.
  const pids = [fleet.primary.child.pid, fleet.started.pid, ...runningWorkers(fleet.primary).map((each) => each.pid)];
  const addresses = listeningAddresses(pids);
  const runtimeDir = fleet.started.runtimeDir;
  const modes = {
    "runtime dir": mode(runtimeDir),
    ...Object.fromEntries(
      readdirSync(runtimeDir)
        .filter((name) => name.endsWith(".sock"))
        .map((name) => [name, mode(path.join(runtimeDir, name))]),
    ),
  };
  // A client that sends secrets the way real ones do: in the query, a cookie, a bearer token, X-Forwarded-For.
  const ws = await connect(`${fleet.url}?token=${secret}`, 5000).catch(() => undefined);
  ws?.close();
  fleet.primary.child.kill("SIGHUP");
  await fleet.primary.waitForEvent(
    (event) => event.event === "reload" && event.message === "rolling restart done",
    60_000,
  );

  const base = await freePortRange(2);
  const wildcard = startPrimary(
    t,
    [
      "--workers",
      "1",
      "--base-port",
      String(base),
      "--host",
      "0.0.0.0",
      "--metrics",
      `0.0.0.0:${base + 1}`,
      "--start-secs",
      "0",
    ],
    {
      env: { AWS_SECRET_ACCESS_KEY: secret, WSFLEET_API_TOKEN: secret },
    },
  );
  await wildcard.waitForRunning(1);
  const warnings = wildcard.events.filter((event) => event.event === "wildcard-bind").map((event) => event.message);
  const defaultBase = await freePortRange(1);
  const defaults = startPrimary(t, ["--workers", "1", "--base-port", String(defaultBase), "--start-secs", "0"]);
  await defaults.waitForRunning(1);
  const defaultAddresses = listeningAddresses(runningWorkers(defaults).map((each) => each.pid));
  const logs = [fleet.primary, wildcard, defaults].map((each) => each.stdout + each.stderr).join("\n");
  let auditResult = "not run";
  if (audit) {
    const run = spawnSync("npm", ["audit", "--omit=dev", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    const report = (() => {
      try {
        return JSON.parse(run.stdout);
      } catch {
        return undefined;
      }
    })();
    const total = report?.metadata?.vulnerabilities?.total;
    auditResult =
      total !== undefined
        ? `${total} vulnerabilities`
        : `could not run: ${(report?.message ?? run.stderr ?? "").split("\n")[0]}`;
  }
  recordFigures(key, {
    title: "Security",
    what: "`--haproxy --haproxy-stats 127.0.0.1:… --metrics <port>` (workers and frontend on 127.0.0.1), a fleet with every default host, and one told `--host 0.0.0.0 --metrics 0.0.0.0:…` with secrets in its environment; a client sends a token in its URL; a rolling restart.",
    figures: {
      "listening addresses (haproxy fleet)": addresses.join(", "),
      "listening addresses (default --host localhost)": defaultAddresses.join(", "),
      "file modes in the runtime directory": modes,
      "warnings for 0.0.0.0": warnings.length,
      "secret found in the logs": logs.includes(secret),
      "npm audit --omit=dev": auditResult,
    },
    notes: warnings.map((each) => `\`${each}\``),
  });
  await checked(key, () => {
    assert.ok(addresses.length >= 5, `workers, frontend, stats and metrics listen: ${addresses}`);
    assert.deepEqual(
      addresses.filter((each) => !isLoopback(each)),
      [],
    );
    assert.deepEqual(
      defaultAddresses.filter((each) => !isLoopback(each)),
      [],
    );
    assert.equal(modes["runtime dir"], "0700");
    for (const [name, value] of Object.entries(modes)) if (name !== "runtime dir") assert.equal(value, "0600", name);
    assert.equal(warnings.length, 2, "one warning for --host, one for --metrics");
    assert.equal(logs.includes(secret), false, "no secret in any log line");
    if (auditResult.endsWith("vulnerabilities")) assert.equal(auditResult, "0 vulnerabilities");
  });
  return auditResult;
}
