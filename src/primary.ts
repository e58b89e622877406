#!/usr/bin/env node
/** The primary: parse and validate the options once, then run the fleet (or a subcommand). */
import { createRequire } from "node:module";
import os from "node:os";
import { parseCommandLine } from "./cli/program.js";
import { reloadPrimary } from "./cli/reload.js";
import { runFleet } from "./cli/run-fleet.js";
import { primaryStatus } from "./cli/status.js";
import { formatError, WsfleetError } from "./errors.js";
import { renderConfig } from "./haproxy/config.js";
import { haproxyConfigModel } from "./haproxy/config-command.js";
import { createLogger } from "./log/logger.js";
import { validateOptions } from "./options.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

try {
  const parsed = parseCommandLine(process.argv, version);
  const defaults = { webConcurrency: process.env.WEB_CONCURRENCY, cpuCount: os.availableParallelism() };
  if (parsed.command === "haproxy-config") {
    process.stdout.write(renderConfig(haproxyConfigModel(parsed.raw, defaults)));
  } else if (parsed.command === "reload") {
    process.stdout.write(`${await reloadPrimary(parsed.raw)}\n`);
  } else if (parsed.command === "status") {
    process.stdout.write(await primaryStatus(parsed.raw));
  } else {
    const options = validateOptions(parsed.raw, defaults);
    await runFleet(options, createLogger(options.logFormat));
  }
} catch (error) {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(error instanceof WsfleetError ? error.exitCode : 1);
}
