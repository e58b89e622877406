import { test } from "node:test";
import { lowOpenFilesWarning, manyDirect, manyThroughHaproxy } from "./lib/limits.js";

test("20,000 idle connections directly to 4 workers, from 4 source addresses", (t) =>
  manyDirect(t, "many-direct", { workers: 4, total: 20_000, processes: 4, sources: 4 }));

test("as many idle connections through HAProxy as the open-files limit allows", (t) =>
  manyThroughHaproxy(t, "many-haproxy", { workers: 2, processes: 2 }));

test("the primary warns when the open-files limit is too low for HAProxy's maxconn", (t) =>
  lowOpenFilesWarning(t, "open-files-warning"));
