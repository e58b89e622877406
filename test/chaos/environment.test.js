import { test } from "node:test";
import { badEnvironment, badOptions, security } from "./lib/environment.js";

test("bad options: every option's wrong values exit 2 and name the option", () => badOptions("bad-options"));

test("bad environment: port in use, unwritable runtime directory, missing haproxy", (t) =>
  badEnvironment(t, "bad-environment"));

test("security: loopback binds, warnings on 0.0.0.0, 0600 sockets in a 0700 directory, npm audit, no secrets logged", async (t) => {
  const audit = await security(t, "security");
  if (!audit.endsWith("vulnerabilities")) t.diagnostic(`npm audit --omit=dev ${audit}`);
});
