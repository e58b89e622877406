import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import os from "node:os";
import { test } from "node:test";
import { pinLayout, pinServersApart } from "../../bench/lib/pin.js";

test("pinLayout: one client core per 4 from the top, at least one; none on one core", () => {
  assert.equal(pinLayout(1), null);
  assert.deepEqual(pinLayout(2), { servers: [0], clients: [1] });
  assert.deepEqual(pinLayout(8), { servers: [0, 1, 2, 3, 4, 5], clients: [6, 7] });
});

// Real processes and taskset(1): the workers end up each on its own core, by pid; the others keep every core.
test("pinServersApart: a target's workers on cores 0, 1, … by pid, its other processes left free", {
  skip: os.cpus().length < 2 && "needs 2 cores",
}, (t) => {
  const children = [0, 1, 2].map(() => spawn("sleep", ["30"], { stdio: "ignore" }));
  t.after(() => {
    for (const child of children) child.kill();
  });
  const [a, b, other] = children.map((c) => c.pid);
  const affinity = (pid) =>
    execFileSync("taskset", ["-c", "-p", String(pid)], { encoding: "utf8" })
      .split(": ")[1]
      .trim();
  const before = affinity(other);
  const pinned = pinServersApart(
    [
      { pid: b, role: "worker" },
      { pid: other, role: "redis" },
      { pid: a, role: "worker" },
    ],
    2,
  );
  assert.deepEqual(pinned, [
    { pid: Math.min(a, b), core: 0 },
    { pid: Math.max(a, b), core: 1 },
  ]);
  assert.equal(affinity(Math.min(a, b)), "0");
  assert.equal(affinity(Math.max(a, b)), "1");
  assert.equal(affinity(other), before);
});
