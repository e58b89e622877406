#!/usr/bin/env node
/** The primary: parse and validate the options once, then run the fleet. */
import { createRequire } from "node:module";
import os from "node:os";
import { parseCommandLine } from "./cli/program.js";
import { runFleet } from "./cli/run-fleet.js";
import { formatError, WsfleetError } from "./errors.js";
import { createLogger } from "./log/logger.js";
import { validateOptions } from "./options.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

try {
  const { raw } = parseCommandLine(process.argv, version);
  const options = validateOptions(raw, {
    webConcurrency: process.env.WEB_CONCURRENCY,
    cpuCount: os.availableParallelism(),
  });
  await runFleet(options, createLogger(options.logFormat));
} catch (error) {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(error instanceof WsfleetError ? error.exitCode : 1);
}
