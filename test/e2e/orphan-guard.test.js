import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { eventually, FIXTURES, isAlive } from "../helpers/fleet.js";

test("orphan guard: a child the primary had no time to list still dies with it (found by its environment)", async (t) => {
  const primary = spawn(process.execPath, [`${FIXTURES}fake-primary.mjs`], { stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => primary.kill("SIGKILL"));
  const [line] = await once(primary.stdout, "data");
  const { guard, unlisted } = JSON.parse(String(line));
  t.after(() => {
    for (const pid of [guard, unlisted]) if (isAlive(pid)) process.kill(pid, "SIGKILL");
  });
  assert.ok(isAlive(guard) && isAlive(unlisted));
  primary.kill("SIGKILL");
  assert.ok(await eventually(() => !isAlive(unlisted) && !isAlive(guard), 1500, 20), "the unlisted child survived");
});
