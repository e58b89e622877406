import assert from "node:assert/strict";
import { test } from "node:test";
import { systemdUnitText as unitFromSettings } from "../../dist/cli/systemd-unit.js";
import { loadSettings } from "../../dist/config-file/load.js";

/** The unit for these command-line options, as `wsfleet systemd-unit` reads them (no --config file). */
const systemdUnitText = (raw, defaults, paths) => unitFromSettings(loadSettings(raw, "/", undefined), defaults, paths);

const defaults = { webConcurrency: undefined, cpuCount: 2 };
const directive = (unit, name) => unit.match(new RegExp(`^${name}=(.*)$`, "m"))?.[1];

test("node or wsfleet in a home directory (nvm, npx): ProtectHome=read-only, so the unit can still read them", () => {
  const system = { nodePath: "/usr/bin/node", scriptPath: "/usr/lib/node_modules/wsfleet/dist/primary.js", cwd: "/" };
  assert.equal(directive(systemdUnitText({}, defaults, system), "ProtectHome"), "yes");
  const nvm = { ...system, nodePath: "/home/ann/.nvm/versions/node/v20.20.2/bin/node" };
  assert.equal(directive(systemdUnitText({}, defaults, nvm), "ProtectHome"), "read-only");
  const app = systemdUnitText({ app: "handler.js" }, defaults, { ...system, cwd: "/root/app" });
  assert.equal(directive(app, "ProtectHome"), "read-only");
  assert.match(directive(app, "ExecStart"), / --app \/root\/app\/handler\.js --runtime-dir \/run\/wsfleet$/);
  assert.equal(directive(app, "Description"), "wsfleet websockets-test: one worker per CPU");
});

test("anything the unit needs in /tmp is refused: PrivateTmp=yes would hide it", () => {
  const paths = { nodePath: "/usr/bin/node", scriptPath: "/tmp/x/node_modules/wsfleet/dist/primary.js", cwd: "/" };
  assert.throws(() => systemdUnitText({}, defaults, paths), {
    code: "WSFLEET_INVALID_OPTION",
    message:
      /"\/tmp\/x\/node_modules\/wsfleet\/dist\/primary\.js"; expected node, wsfleet, the --config file and the working directory outside \/tmp/,
  });
});
