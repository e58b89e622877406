import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { bytesText, parseBytes } from "../../dist/config/parsers.js";
import { ERROR_CATALOGUE, formatError, invalidOption, wsfleetError } from "../../dist/errors.js";

const SRC = new URL("../../src/", import.meta.url).pathname;

function sources(dir = SRC) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

test("every failure of the catalogue has a WSFLEET_ code, an exit code of 1 or 2, and is raised somewhere", () => {
  const code = sources()
    .filter((file) => !file.endsWith(`${path.sep}errors.ts`))
    .map((file) => readFileSync(file, "utf8"))
    .join("\n");
  for (const [name, entry] of Object.entries(ERROR_CATALOGUE)) {
    assert.match(entry.code, /^WSFLEET_[A-Z_]+$/, name);
    assert.ok([1, 2].includes(entry.exitCode), `${name}: exit code ${entry.exitCode}`);
    const raised = code.includes(`"${name}"`) || (name === "invalidOption" && code.includes("invalidOption("));
    assert.ok(raised, `${name} is never raised: remove it from the catalogue`);
  }
  assert.ok(!/new WsfleetError\("WSFLEET_/.test(code), "messages are built by the catalogue, not at the call site");
});

test("a failure carries its code, exit code and built message; formatError prints it without a stack", () => {
  const error = wsfleetError("portInUse", "127.0.0.1", 8000, { pid: 42, command: "python3 app.py" }, "--base-port");
  assert.equal(error.code, "WSFLEET_PORT_IN_USE");
  assert.equal(error.exitCode, 2);
  assert.equal(
    formatError(error),
    "wsfleet: WSFLEET_PORT_IN_USE: port 8000 on 127.0.0.1 is already in use by pid 42 (python3 app.py); stop that process or choose another --base-port",
  );
  assert.equal(wsfleetError("haproxyDidNotStart", "bind failed").exitCode, 1);
  assert.equal(
    invalidOption("--workers", "abc", "a whole number").message,
    'invalid value for --workers: "abc"; expected a whole number',
  );
});

test("bytesText writes a size the way parseBytes reads it back", () => {
  for (const bytes of [1, 1000, 1024, 65536, 1024 * 1024, 3 * 1024 * 1024, 1536]) {
    assert.equal(parseBytes("--max-payload", bytesText(bytes), 1, "x"), bytes);
  }
  assert.equal(bytesText(1024 * 1024), "1MiB");
  assert.equal(bytesText(64 * 1024), "64KiB");
  assert.equal(bytesText(1000), "1000");
});
