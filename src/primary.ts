#!/usr/bin/env node
/** The primary: parse the command line, validate the options once, then run the fleet or a subcommand. */
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { resolveAppModule } from "./cli/app-module.js";
import { haproxyConfigText } from "./cli/haproxy-config.js";
import { parseCommandLine } from "./cli/program.js";
import { reloadPrimary } from "./cli/reload.js";
import { runFleet } from "./cli/run.js";
import { systemdNotifier } from "./cli/sd-notify.js";
import { primaryStatus } from "./cli/status.js";
import { systemdUnitText } from "./cli/systemd-unit.js";
import { validateOptions } from "./config/validate.js";
import { formatError, WsfleetError } from "./errors.js";
import { createLogger, isJournalStream } from "./log/logger.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

try {
  const { command, raw } = parseCommandLine(process.argv, version);
  const defaults = { webConcurrency: process.env.WEB_CONCURRENCY, cpuCount: os.availableParallelism() };
  if (command === "haproxy-config") process.stdout.write(haproxyConfigText(raw, defaults));
  else if (command === "reload") process.stdout.write(`${await reloadPrimary(raw)}\n`);
  else if (command === "status") process.stdout.write(await primaryStatus(raw));
  else if (command === "systemd-unit") {
    const scriptPath = realpathSync(fileURLToPath(import.meta.url));
    process.stdout.write(
      systemdUnitText(raw, defaults, { nodePath: process.execPath, scriptPath, cwd: process.cwd() }),
    );
  } else {
    const options = resolveAppModule(validateOptions(raw, defaults), process.cwd());
    const logger = createLogger(options.logFormat, undefined, undefined, {
      journal: isJournalStream(process.env.JOURNAL_STREAM),
    });
    // sd_notify(3)'s unset_environment: the socket is the primary's alone; a worker must not report for the fleet.
    const notifySocket = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    const service = systemdNotifier(notifySocket, (message) => logger.event("warn", "sd-notify", message));
    await runFleet(options, logger, service);
  }
} catch (error) {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(error instanceof WsfleetError ? error.exitCode : 1);
}
