import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { PRIMARY, runPrimary } from "../helpers/fleet.js";

const REPO = path.resolve(path.dirname(PRIMARY), "..");
/** A checkout under /tmp (some CI machines clone there) is one a unit with PrivateTmp=yes cannot run from. */
const REPO_IN_TMP = ["/tmp/", "/var/tmp/"].some((dir) => realpathSync(REPO).startsWith(dir));

/** In a checkout under /tmp the right answer is the refusal: asserted, then the test has nothing more to check. */
async function refusedInTmp(t) {
  if (!REPO_IN_TMP) return false;
  const { code, stderr } = await runPrimary(["systemd-unit", "--workers", "1"]);
  assert.equal(code, 2, stderr);
  assert.match(stderr, /outside \/tmp, which the unit's PrivateTmp=yes hides/);
  t.diagnostic(`${REPO} is under /tmp: systemd-unit refuses it (asserted); the unit's contents are checked elsewhere`);
  return true;
}

/** systemd-analyze verify on `text` as a .service file: what it printed, and its exit status. */
async function verify(t, text) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-test-unit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "wsfleet-test.service");
  writeFileSync(file, text);
  try {
    const { stdout, stderr } = await promisify(execFile)("systemd-analyze", ["verify", file]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    return { code: error.code, output: `${error.stdout}${error.stderr}` };
  }
}

function directive(unit, name) {
  return unit.match(new RegExp(`^${name}=(.*)$`, "m"))?.[1];
}

test("wsfleet systemd-unit: a Type=notify unit for the fleet; systemd-analyze verify prints nothing", async (t) => {
  if (await refusedInTmp(t)) return;
  const args = ["--workers", "4", "--haproxy", "--app", "examples/chat-room.js", "--stop-timeout", "20"];
  const { code, stderr } = await runPrimary(["systemd-unit", ...args, "--drain-timeout", "3", "--exec-none"]);
  assert.equal(code, 2, "an unknown option is refused");
  assert.match(stderr, /unknown option '--exec-none'/);

  const result = await runPrimary(["systemd-unit", ...args, "--drain-timeout", "3", "--user", "www-data"]);
  assert.equal(result.code, 0, result.stderr);
  const unit = result.stdout;
  assert.equal(
    directive(unit, "ExecStart"),
    `${process.execPath} ${realpathSync(PRIMARY)} --workers 4 --stop-timeout 20 --drain-timeout 3 --app ${path.join(REPO, "examples/chat-room.js")} --haproxy --runtime-dir /run/wsfleet`,
  );
  assert.equal(directive(unit, "Type"), "notify");
  assert.equal(directive(unit, "NotifyAccess"), "all");
  assert.equal(directive(unit, "ExecReload"), "/bin/kill -HUP $MAINPID");
  assert.equal(directive(unit, "KillMode"), "mixed");
  assert.equal(directive(unit, "Restart"), "on-failure");
  // Workers: 20 s stop timeout (which includes the 3 s drain), then HAProxy's own 20 s, then a margin.
  assert.ok(Number(directive(unit, "TimeoutStopSec")) > 20 + 3 + 20, directive(unit, "TimeoutStopSec"));
  assert.ok(Number(directive(unit, "LimitNOFILE")) >= 2 * 10_000, "room for HAProxy's 10000 connections");
  assert.equal(directive(unit, "RuntimeDirectory"), "wsfleet");
  assert.equal(directive(unit, "User"), "www-data");
  assert.equal(directive(unit, "WorkingDirectory"), "/", "only --exec commands need the directory they were given in");
  // A checkout (or node) in a home directory is still read: ProtectHome=read-only there, else yes.
  const inHome = [realpathSync(REPO), process.execPath].some((p) => /^\/(home|root|run\/user)\//.test(`${p}/`));
  for (const [name, value] of [
    ["NoNewPrivileges", "yes"],
    ["ProtectSystem", "strict"],
    ["ProtectHome", inHome ? "read-only" : "yes"],
    ["PrivateTmp", "yes"],
  ]) {
    assert.equal(directive(unit, name), value, name);
  }
  assert.deepEqual(await verify(t, unit), { code: 0, output: "" });
  // The check can fail: a directive systemd does not know is reported.
  const broken = await verify(t, unit.replace("KillMode=mixed", "KillMode=mixed\nKilMode=mixed"));
  assert.match(broken.output, /Unknown key 'KilMode'/);
});

test("wsfleet systemd-unit: --exec words quoted for systemd (% and $ doubled); --runtime-dir must be under /run", async (t) => {
  if (await refusedInTmp(t)) return;
  const result = await runPrimary([
    "systemd-unit",
    "--exec",
    'python3 app.py "$HOME" 100%',
    "--runtime-dir",
    "/run/ws/a",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(
    directive(result.stdout, "ExecStart"),
    / --exec "python3 app.py \\"\$\$HOME\\" 100%%" --runtime-dir \/run\/ws\/a$/,
  );
  assert.equal(directive(result.stdout, "RuntimeDirectory"), "ws/a");
  assert.equal(directive(result.stdout, "WorkingDirectory"), REPO);
  assert.deepEqual(await verify(t, result.stdout), { code: 0, output: "" });

  const outside = await runPrimary(["systemd-unit", "--runtime-dir", "/var/lib/wsfleet"]);
  assert.equal(outside.code, 2);
  assert.match(
    outside.stderr,
    /invalid value for --runtime-dir: "\/var\/lib\/wsfleet"; expected a directory under \/run/,
  );
  const badWorkers = await runPrimary(["systemd-unit", "--workers", "0"]);
  assert.equal(badWorkers.code, 2);
  assert.match(badWorkers.stderr, /invalid value for --workers/);
});
