#!/usr/bin/env node
/** The primary: parse the command line, validate the options once, then run the fleet or a subcommand. */
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { runClient } from "./cli/client.js";
import { showConfig } from "./cli/config.js";
import { haproxyConfigText } from "./cli/haproxy-config.js";
import { showLogs } from "./cli/logs.js";
import { parseCommandLine } from "./cli/program.js";
import { reloadPrimary } from "./cli/reload.js";
import { reloadCertificate } from "./cli/reload-cert.js";
import { restartWorker } from "./cli/restart.js";
import { scalePrimary } from "./cli/scale.js";
import { primaryStatus } from "./cli/status.js";
import { stopPrimary } from "./cli/stop.js";
import { systemdUnitText } from "./cli/systemd-unit.js";
import { upgradePrimary } from "./cli/upgrade.js";
import { type LoadedSettings, loadSettings, validateLoaded } from "./config-file/load.js";
import { formatError, WsfleetError } from "./errors.js";
import { createLogger, isJournalStream } from "./log/logger.js";
import { resolveAppModule } from "./primary/app-module.js";
import { runFleet } from "./primary/run.js";
import { systemdNotifier, withMainPid } from "./primary/sd-notify.js";
import { takeoverFromEnv } from "./upgrade/handover.js";

const { version } = createRequire(import.meta.url)("../package.json") as { version: string };

try {
  const { command, raw, args } = parseCommandLine(process.argv, version);
  const [arg] = args;
  const defaults = { webConcurrency: process.env.WEB_CONCURRENCY, cpuCount: os.availableParallelism() };
  const write = (text: string) => process.stdout.write(text);
  const cwd = process.cwd();
  // --config read under the command line's options, and validated with them once (a reload reads it again).
  const load = () => {
    const settings: LoadedSettings = loadSettings(raw, cwd, defaults.webConcurrency);
    return { settings, options: resolveAppModule(validateLoaded(settings, defaults), cwd) };
  };
  if (command === "haproxy-config") {
    const warn = (line: string) => process.stderr.write(`${line}\n`);
    write(await haproxyConfigText(raw, defaults, process.cwd(), warn));
  } else if (command === "reload") write(`${await reloadPrimary(raw)}\n`);
  else if (command === "reload-cert") write(`${await reloadCertificate(raw)}\n`);
  else if (command === "upgrade") write(`${await upgradePrimary(raw)}\n`);
  else if (command === "status") write(await primaryStatus(raw));
  else if (command === "config") write(showConfig(load(), raw.json === true));
  else if (command === "scale") write(await scalePrimary(raw, arg ?? ""));
  else if (command === "restart") write(await restartWorker(raw, arg ?? ""));
  else if (command === "logs") await showLogs(raw, arg, write);
  else if (command === "stop") {
    const { text, exitCode } = await stopPrimary(raw);
    write(`${text}\n`);
    process.exitCode = exitCode;
  } else if (command === "client") {
    const caFile = process.env.SSL_CERT_FILE ?? "/etc/ssl/certs/ca-certificates.crt";
    process.exitCode = await runClient(arg ?? "", { input: process.stdin, output: process.stdout, caFile });
  } else if (command === "systemd-unit") {
    const scriptPath = realpathSync(fileURLToPath(import.meta.url));
    const settings = loadSettings(raw, cwd, defaults.webConcurrency);
    write(systemdUnitText(settings, defaults, { nodePath: process.execPath, scriptPath, cwd }));
  } else {
    const current = load();
    const { options } = current;
    const logger = createLogger(options.logFormat, undefined, undefined, {
      journal: isJournalStream(process.env.JOURNAL_STREAM),
    });
    // sd_notify(3)'s unset_environment: the socket is the primary's alone; a worker must not report for the fleet.
    const notifySocket = process.env.NOTIFY_SOCKET;
    delete process.env.NOTIFY_SOCKET;
    // `wsfleet upgrade`: this primary takes over from the one that started it; the workers need not know.
    const takeover = takeoverFromEnv(process.env);
    const notifier = systemdNotifier(notifySocket, (message) => logger.event("warn", "sd-notify", message));
    // systemd follows the new primary: MAINPID= with its READY=1 (the unit's NotifyAccess=all lets it say so).
    const service = takeover ? withMainPid(notifier, process.pid) : notifier;
    const generation = {
      command: { execPath: process.execPath, args: [...process.execArgv, ...process.argv.slice(1)], env: process.env },
      notifySocket,
      takeover,
    };
    await runFleet(
      options,
      logger,
      service,
      version,
      generation,
      current.settings.file ? { current, load } : undefined,
    );
  }
} catch (error) {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(error instanceof WsfleetError ? error.exitCode : 1);
}
