import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { buildProgram } from "../../dist/cli/program.js";
import { renderOptionsTable, SETTINGS, settingsFor } from "../../dist/config/settings.js";
import { validateOptions } from "../../dist/config/validate.js";
import { canTransition, TRANSITIONS } from "../../dist/supervise/states.js";

test("Supervisor's transitions are allowed and others refused", () => {
  assert.ok(canTransition("STOPPED", "STARTING"));
  assert.ok(canTransition("STARTING", "BACKOFF"));
  assert.ok(canTransition("BACKOFF", "STARTING"));
  assert.ok(canTransition("RUNNING", "EXITED"));
  assert.ok(!canTransition("STOPPED", "RUNNING"), "RUNNING only after STARTING");
  assert.ok(!canTransition("FATAL", "RUNNING"));
  assert.ok(!canTransition("STOPPING", "STARTING"), "a stopping process must first be STOPPED");
  assert.ok(!canTransition("BACKOFF", "RUNNING"));
  for (const [from, targets] of Object.entries(TRANSITIONS)) assert.ok(!targets.includes(from), `${from} → itself`);
});

/** A markdown table's cells, whatever padding the formatter gave it. */
function tableCells(markdown) {
  return markdown
    .trim()
    .split("\n")
    .map((line) =>
      line
        .split(/(?<!\\)\|/)
        .slice(1, -1)
        .map((cell) => cell.trim().replace(/^-+$/, "---")),
    );
}

test("docs/options.md's table is the one the settings table renders", () => {
  const page = readFileSync(new URL("../../docs/options.md", import.meta.url), "utf8");
  const block = /<!-- options:start -->\n([\s\S]*?)\n<!-- options:end -->/.exec(page);
  assert.ok(block, "docs/options.md has the options markers");
  assert.deepEqual(
    tableCells(block[1]),
    tableCells(renderOptionsTable()),
    "docs/options.md out of date: npm run docs:options",
  );
});

test("commander's help has every setting of each command, with its default", () => {
  const program = buildProgram("0.0.0", () => {});
  const help = program.helpInformation();
  for (const [, entry] of settingsFor("run")) assert.ok(help.includes(entry.flags), entry.flags);
  assert.match(help, /--base-port <port>\s+port of worker 0.*\(default: 8000\)/s);
  const status = program.commands.find((command) => command.name() === "status").helpInformation();
  assert.ok(status.includes(SETTINGS.json.flags) && status.includes(SETTINGS.pid.flags));
});

test("each default in the table passes its own parser, so help and behaviour agree", () => {
  const options = validateOptions({}, { cpuCount: 1 });
  assert.equal(options.fleet.ports.basePort, Number(SETTINGS.basePort.default));
  assert.equal(options.fleet.connections.maxPayloadBytes, 1024 * 1024);
  for (const [name, entry] of Object.entries(SETTINGS)) {
    if (entry.default !== undefined && entry.parse) assert.doesNotThrow(() => entry.parse(entry.default, name), name);
  }
});
