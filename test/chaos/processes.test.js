import { test } from "node:test";
import { crashLoop, primarySigkill } from "./lib/processes.js";

test("SIGKILL of the primary at random moments of start-up and rolling restart: nothing left after 1.5 s", (t) =>
  primarySigkill(t, "primary-sigkill", { rounds: 3 }));

test("crash loop: FATAL after the retries, the others serve, the primary's CPU stays low", (t) =>
  crashLoop(t, "crash-loop", { workers: 3, startRetries: 3 }));
