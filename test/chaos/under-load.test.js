import { test } from "node:test";
import { haproxyKilled, rollingRestartUnderLoad, workerCrashes } from "./lib/under-load.js";

test("worker crashes under load: kill -9 a random worker every 2 s for 30 s, 200 clients through HAProxy", (t) =>
  workerCrashes(t, "worker-crashes", { workers: 4, clients: 200, everyMs: 2000, forMs: 30_000 }));

test("rolling restart under 1,000 reconnecting clients through HAProxy: 0 failed, 0 wrong, 0 abnormal", (t) =>
  rollingRestartUnderLoad(t, "rolling-restart", { workers: 4, clients: 1000 }));

test("HAProxy killed under load: restarted and traffic resumes", (t) =>
  haproxyKilled(t, "haproxy-killed", { workers: 2, clients: 200, kills: 3 }));
