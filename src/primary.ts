#!/usr/bin/env node
/** The primary: parse the command line, validate the options once, then run the fleet or a subcommand. */
import { createRequire } from "node:module";
import os from "node:os";
import { resolveAppModule } from "./cli/app-module.js";
import { haproxyConfigText } from "./cli/haproxy-config.js";
import { parseCommandLine } from "./cli/program.js";
import { reloadPrimary } from "./cli/reload.js";
import { reloadCertificate } from "./cli/reload-cert.js";
import { runFleet } from "./cli/run.js";
import { primaryStatus } from "./cli/status.js";
import { validateOptions } from "./config/validate.js";
import { formatError, WsfleetError } from "./errors.js";
import { createLogger } from "./log/logger.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

try {
  const { command, raw } = parseCommandLine(process.argv, version);
  const defaults = { webConcurrency: process.env.WEB_CONCURRENCY, cpuCount: os.availableParallelism() };
  if (command === "haproxy-config") {
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    process.stdout.write(await haproxyConfigText(raw, defaults, process.cwd(), warn));
  } else if (command === "reload") process.stdout.write(`${await reloadPrimary(raw)}\n`);
  else if (command === "reload-cert") process.stdout.write(`${await reloadCertificate(raw)}\n`);
  else if (command === "status") process.stdout.write(await primaryStatus(raw));
  else {
    const options = resolveAppModule(validateOptions(raw, defaults), process.cwd());
    await runFleet(options, createLogger(options.logFormat));
  }
} catch (error) {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(error instanceof WsfleetError ? error.exitCode : 1);
}
