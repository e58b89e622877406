import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { loadSettings, validateLoaded } from "../../dist/config-file/load.js";
import { effectiveSettings, mergeOptions, parseConfigText, settingSources } from "../../dist/config-file/parse.js";
import { WsfleetError } from "../../dist/errors.js";
import { describeChange, planReload } from "../../dist/reload/plan.js";
import { ConfigReloader } from "../../dist/reload/reloader.js";

const FILE = "/etc/wsfleet/fleet.json";
const defaults = { webConcurrency: undefined, cpuCount: 2 };

function rejects(text, code, pattern) {
  assert.throws(
    () => parseConfigText(text, FILE),
    (error) => {
      assert.ok(error instanceof WsfleetError);
      assert.equal(error.code, code);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test("a config file's keys are the long option names; numbers and switches read as the command line gives them", () => {
  const raw = parseConfigText(
    JSON.stringify({ workers: 4, "base-port": 9000, haproxy: true, "trust-proxy": false, "drain-spread": "0.5" }),
    FILE,
  );
  assert.deepEqual(raw, { workers: "4", basePort: "9000", haproxy: true, drainSpread: "0.5" });
});

test("file paths in a config file are read from the file's directory, as nginx and HAProxy read theirs", () => {
  const raw = parseConfigText(JSON.stringify({ app: "./room.js", "tls-cert": "/srv/cert.pem" }), FILE);
  assert.equal(raw.app, "/etc/wsfleet/room.js");
  assert.equal(raw.tlsCert, "/srv/cert.pem");
});

test("a bad file names the file, the key, the value and the fix; exit 2", () => {
  rejects("{", "WSFLEET_CONFIG_INVALID", /^--config \/etc\/wsfleet\/fleet\.json: not valid JSON/);
  rejects("[4]", "WSFLEET_CONFIG_INVALID", /expected one JSON object of options, for example \{"workers": 4\}/);
  rejects('{"base_port": 8000}', "WSFLEET_CONFIG_INVALID", /unknown key "base_port"; did you mean "base-port"\?/);
  rejects('{"colour": 1}', "WSFLEET_CONFIG_INVALID", /unknown key "colour"; keys are the long option names/);
  rejects('{"config": "other.json"}', "WSFLEET_CONFIG_INVALID", /unknown key "config"/);
  rejects('{"haproxy": "yes"}', "WSFLEET_CONFIG_INVALID", /key "haproxy" has "yes"; expected true or false/);
  rejects('{"workers": [4]}', "WSFLEET_CONFIG_INVALID", /key "workers" has \[4\]; expected a string or a number/);
  // The settings table's own parser, naming the key in the file.
  rejects(
    '{"workers": 0}',
    "WSFLEET_INVALID_OPTION",
    /^invalid value for "workers" in \/etc\/wsfleet\/fleet\.json: "0"; expected a whole number of workers from 1 to 1024/,
  );
  rejects('{"compression": "gzip"}', "WSFLEET_INVALID_OPTION", /"compression" in .*: "gzip"; expected off, shared/);
});

test("flags win over the file; sources say default, file, flag or environment", () => {
  const file = { workers: "4", name: "chat" };
  const flags = { name: "room", drainSpread: undefined };
  assert.deepEqual(mergeOptions(flags, file), { workers: "4", name: "room" });
  const sources = settingSources(flags, file, "8");
  assert.equal(sources.workers, "file");
  assert.equal(sources.name, "flag");
  assert.equal(sources.basePort, "default");
  assert.equal(settingSources({}, undefined, "8").workers, "environment");
  assert.equal(settingSources({}, undefined, "").workers, "default");
});

test("a cross-option refusal names the file and key when the file gave the value; exit 2", (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "wsfleet-config-unit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "fleet.json");
  writeFileSync(file, JSON.stringify({ "shared-port": 9000 }));
  const loaded = loadSettings({ config: file, haproxy: true }, "/", undefined);
  assert.throws(() => validateLoaded(loaded, defaults), {
    code: "WSFLEET_INVALID_OPTION",
    message: new RegExp(
      `^invalid value for "shared-port" in ${file.replace(/[./]/g, "\\$&")}: "9000"; expected either`,
    ),
  });
  // The same refusal for a value given as a flag names the flag.
  const flagged = loadSettings({ sharedPort: "9000", haproxy: true }, "/", undefined);
  assert.throws(() => validateLoaded(flagged, defaults), { message: /^invalid value for --shared-port: "9000"/ });
  assert.throws(() => loadSettings({ config: path.join(dir, "missing.json") }, "/", undefined), {
    code: "WSFLEET_CONFIG_INVALID",
    message: /cannot read --config .*missing\.json \(ENOENT\)/,
  });
});

/** The settings in effect for a file's content, as the primary compares them on a reload. */
function effective(content, flags = {}) {
  const raw = mergeOptions(flags, parseConfigText(JSON.stringify(content), FILE));
  const sources = settingSources(flags, raw, undefined);
  return effectiveSettings(raw, sources, Number(raw.workers ?? 2));
}

test("reload plan: a changed --history or --history-ttl is refused with its reason (the hub's history is made at start)", () => {
  const plan = planReload(effective({ history: "0" }), effective({ history: "1000", "history-ttl": "60" }));
  assert.equal(plan.refused.length, 2);
  assert.match(plan.refused[0], /history.*new sequencer, new epochs/);
  assert.deepEqual(plan.changes, []);
});

test("reload plan: HAProxy settings reload HAProxy seamlessly", () => {
  const before = effective({ haproxy: true, "frontend-port": 8080 });
  const plan = planReload(before, effective({ haproxy: true, "frontend-port": 9090, "tunnel-timeout": 60 }));
  assert.deepEqual(plan.changes.map(describeChange), [
    'frontend-port "8080" → "9090" (haproxy reloaded)',
    'tunnel-timeout "3600" → "60" (haproxy reloaded)',
  ]);
  assert.equal(plan.reloadHaproxy, true);
  assert.equal(plan.rollWorkers, false);
});

test("reload plan: the worker count scales, worker-level settings roll the workers, one value written two ways is no change", () => {
  const before = effective({ workers: 3, "drain-spread": "2", "max-payload": "1MiB" });
  const scale = planReload(before, effective({ workers: 5, "drain-spread": "2.0", "max-payload": "1048576" }));
  assert.deepEqual(scale, {
    changes: [{ key: "workers", from: "3", to: "5", how: "scale" }],
    refused: [],
    scaleTo: 5,
    rollWorkers: false,
    reloadHaproxy: false,
  });
  assert.equal(describeChange(scale.changes[0]), 'workers "3" → "5" (scaled)');
  const roll = planReload(before, effective({ workers: 3, "idle-timeout": 60, app: "./room.js" }));
  assert.deepEqual(
    roll.changes.map((change) => [change.key, change.how]),
    [
      ["app", "roll"],
      ["idle-timeout", "roll"],
    ],
  );
  assert.equal(roll.rollWorkers, true);
  assert.equal(roll.scaleTo, undefined);
  const none = planReload(before, effective({ workers: 3, "drain-spread": 2, "max-payload": "1MiB" }));
  assert.deepEqual(none, { changes: [], refused: [], scaleTo: undefined, rollWorkers: false, reloadHaproxy: false });
});

test("reload plan: who may connect: Origin and per-worker limits roll the workers, per-address limits are refused", () => {
  const before = effective({ workers: 2, "allowed-origins": "https://a.example", "max-conns-per-ip": 10 });
  const roll = planReload(
    before,
    effective({ workers: 2, "allowed-origins": "https://b.example", "max-connections": 100, "max-conns-per-ip": 10 }),
  );
  assert.deepEqual(
    roll.changes.map((change) => [change.key, change.how]),
    [
      ["allowed-origins", "roll"],
      ["max-connections", "roll"],
    ],
  );
  const refused = planReload(
    before,
    effective({ workers: 2, "allowed-origins": "https://a.example", "max-conns-per-ip": 20 }),
  );
  assert.equal(refused.refused.length, 1);
  assert.match(refused.refused[0], /max-conns-per-ip.*per-address limits at start/);
});

test("reload plan: a change that needs a restart refuses the whole reload, naming the setting and why", () => {
  const before = effective({ workers: 3, haproxy: true, "frontend-port": 8080 });
  const plan = planReload(before, effective({ workers: 5, haproxy: true, "frontend-port": 9090, name: "chat" }));
  assert.deepEqual(plan.changes, [], "nothing of the file is applied");
  assert.equal(plan.scaleTo, undefined);
  assert.equal(plan.rollWorkers, false);
  assert.equal(plan.reloadHaproxy, false);
  assert.deepEqual(plan.refused.length, 1);
  assert.match(plan.refused[0], /^name "websockets-test" → "chat" names every worker/);
  const exec = planReload(effective({}), effective({ exec: "python3 app.py" }));
  assert.match(exec.refused.join("\n"), /exec: the choice between the built-in worker and an --exec program/);
  const execChanged = planReload(effective({ exec: "python3 a.py" }), effective({ exec: "python3 b.py" }));
  assert.deepEqual(execChanged.refused, []);
  assert.equal(execChanged.rollWorkers, true);
});

/** A ConfigReloader over recording fakes; `files` are the contents `load()` returns in turn (an Error is thrown). */
function reloaderWith(first, files, { failHaproxy = false } = {}) {
  const calls = [];
  let size = Number(first.workers);
  const loaded = (content) => {
    const raw = mergeOptions({ config: FILE }, parseConfigText(JSON.stringify(content), FILE));
    const settings = { flags: { config: FILE }, file: FILE, raw, sources: settingSources({}, raw, undefined) };
    return { settings, options: { fleet: { workers: Number(raw.workers) } } };
  };
  const reloader = new ConfigReloader(loaded(first), {
    load: () => {
      const next = files.shift();
      if (next instanceof Error) throw next;
      return loaded(next);
    },
    useWorkerOptions: (options) => calls.push(`useWorkerOptions ${options.fleet.workers}`),
    size: () => size,
    scaleTo: async (count) => {
      calls.push(`scaleTo ${count}`);
      size = count;
    },
    rollWorkers: async () => calls.push("rollWorkers"),
    reloadHaproxy: async () => {
      calls.push("reloadHaproxy");
      if (failHaproxy) throw new Error("port 9090 is in use");
    },
    logger: { event: (level, event) => calls.push(`${level} ${event}`), workerLine: () => {} },
    now: () => new Date(0),
  });
  return { reloader, calls };
}

test("reloader: grow after rolling, shrink before; unchanged rolls as SIGHUP did; a refused file changes nothing", async () => {
  const grow = reloaderWith({ workers: 3 }, [{ workers: 5, "idle-timeout": 60 }]);
  const done = await grow.reloader.reload();
  assert.deepEqual(done.changes, ['workers "3" → "5" (scaled)', 'idle-timeout "40" → "60" (workers rolled)']);
  assert.deepEqual(grow.calls, ["info reload", "useWorkerOptions 5", "rollWorkers", "scaleTo 5", "info reload"]);
  const shrink = reloaderWith({ workers: 3 }, [{ workers: 2, "idle-timeout": 60 }]);
  await shrink.reloader.reload();
  assert.deepEqual(shrink.calls, ["info reload", "useWorkerOptions 2", "scaleTo 2", "rollWorkers", "info reload"]);
  const same = reloaderWith({ workers: 3 }, [{ workers: 3 }]);
  assert.deepEqual((await same.reloader.reload()).changes, []);
  assert.deepEqual(same.calls, ["info reload", "rollWorkers"]);
  const refused = reloaderWith({ workers: 3 }, [{ workers: 4, "base-port": 9000 }, new Error("not valid JSON")]);
  await assert.rejects(refused.reloader.reload(), {
    code: "WSFLEET_RELOAD_REFUSED",
    message: /base-port "8000" → "9000"/,
  });
  await assert.rejects(refused.reloader.reload(), { message: "not valid JSON" });
  assert.deepEqual(refused.calls, ["error reload-refused", "error reload-refused"]);
  assert.match(refused.reloader.lastReload.refused, /^reload refused, nothing changed: not valid JSON$/);
});

test("reloader: HAProxy is reloaded first; when it fails nothing else is applied, exit 1 with why", async () => {
  const ok = reloaderWith({ workers: 2, haproxy: true }, [{ workers: 3, haproxy: true, "tunnel-timeout": 60 }]);
  await ok.reloader.reload();
  assert.deepEqual(ok.calls, ["info reload", "reloadHaproxy", "scaleTo 3", "info reload"]);
  const failing = reloaderWith({ workers: 2, haproxy: true }, [{ workers: 3, haproxy: true, "frontend-port": 9090 }], {
    failHaproxy: true,
  });
  await assert.rejects(failing.reloader.reload(), {
    code: "WSFLEET_RELOAD_FAILED",
    exitCode: 1,
    message: /failed, nothing changed: port 9090 is in use/,
  });
  assert.deepEqual(failing.calls, ["info reload", "reloadHaproxy", "error reload-refused"]);
});
