import { Command, CommanderError } from "commander";
import { EXIT_USAGE } from "../errors.js";
import type { RawHaproxyConfigOptions } from "../haproxy/config-command.js";
import type { RawOptions } from "../options.js";
import type { RawReloadOptions } from "./reload.js";
import type { RawStatusOptions } from "./status.js";

/** What to do: run a fleet (no subcommand, as always), print an HAProxy config, or reload a running primary. */
export type ParsedCommand =
  | { command: "run"; raw: RawOptions }
  | { command: "haproxy-config"; raw: RawHaproxyConfigOptions }
  | { command: "reload"; raw: RawReloadOptions }
  | { command: "status"; raw: RawStatusOptions };

/** The fleet's own options, shared by the main command and `haproxy-config` (which describes such a fleet). */
function addFleetShapeOptions(command: Command): Command {
  return command
    .option("-w, --workers <n>", "number of workers (default: WEB_CONCURRENCY, else the number of CPUs)")
    .option("-p, --base-port <port>", "port of the first worker; worker i listens on base-port + i (default: 8000)")
    .option("-H, --host <host>", "address the workers listen on (default: localhost)")
    .option("-n, --name <name>", "program name; workers are <name>_00, <name>_01, ... (default: websockets-test)");
}

/** The frontend's options, shared by --haproxy and `haproxy-config`. */
function addFrontendOptions(command: Command): Command {
  return command
    .option("--frontend-host <host>", "address HAProxy's frontend binds (default: localhost)")
    .option("--frontend-port <port>", "port of HAProxy's frontend (default: 8080)")
    .option("--haproxy-stats <host:port>", "also serve HAProxy's stats page there, and Prometheus metrics on /metrics")
    .option("--tunnel-timeout <s>", "seconds an idle WebSocket may stay open through HAProxy (default: 3600)");
}

/** The command line, as commander reads it; values stay strings here and are validated once in validateOptions. */
export function buildProgram(version: string, onParsed: (parsed: ParsedCommand) => void): Command {
  const program = new Command("wsfleet")
    .description(
      "Run N WebSocket workers on consecutive ports, Supervisor-style: the built-in uWebSockets.js echo, or any program with --exec.",
    )
    .version(version)
    // Subcommands read their own options: `wsfleet haproxy-config --workers 8` is haproxy-config's --workers.
    .enablePositionalOptions();
  addFleetShapeOptions(program)
    .option("-e, --exec <command>", "run this command in each slot instead of the built-in echo (via /bin/sh)")
    .option("--start-secs <s>", "seconds a worker must stay up, listening, to count as started (default: 1)")
    .option("--start-retries <n>", "failed starts in a row before a worker is FATAL (default: 3)")
    .option("--stop-timeout <s>", "seconds a stopping worker gets before SIGKILL (default: 10)")
    .option("--drain-timeout <s>", "seconds a draining worker keeps open connections before closing them (default: 1)")
    .option("--log-format <format>", "text or json (default: text)")
    .option(
      "--shared-port <port>",
      "all workers listen on this one port with SO_REUSEPORT; the kernel balances (Linux)",
    )
    .option("--app <module>", "run this WsfleetApp module (default export) in the built-in worker instead of the echo")
    .option("--max-payload <bytes>", "largest message accepted, e.g. 1MiB; larger ones close with 1009 (default: 1MiB)")
    .option(
      "--idle-timeout <s>",
      "close a connection silent this long; a ping goes out at half of it; 0 = off (default: 40)",
    )
    .option("--max-backpressure <bytes>", "bytes queued for a slow reader before it is closed (default: 64KiB)")
    .option("--compression <mode>", "permessage-deflate: off, shared or dedicated (default: off)")
    .option("--trust-proxy", "take the client address from X-Forwarded-For (PROXY protocol v2 is always understood)")
    .option("--metrics <[host:]port>", "serve Prometheus metrics of every worker on this port (host default 127.0.0.1)")
    .option("--haproxy", "run HAProxy in front of the workers (frontend localhost:8080), supervised, stopped last")
    .option("--haproxy-bin <path>", "the haproxy executable (default: haproxy on PATH)");
  addFrontendOptions(program)
    .addHelpText(
      "after",
      `
Signals to the primary:
  SIGTERM, SIGINT  graceful stop: connections closed with 1001, SIGKILL after --stop-timeout (a second SIGINT: at once)
  SIGHUP           rolling restart, one worker at a time; old connections closed with 1012 (also: wsfleet reload)
  SIGTTIN, SIGTTOU one worker more, one worker less`,
    )
    .action(() => onParsed({ command: "run", raw: program.opts<RawOptions>() }));

  const haproxyConfig = addFleetShapeOptions(
    program
      .command("haproxy-config")
      .description("print a WebSocket-ready haproxy.cfg for a fleet, for an HAProxy you run yourself"),
  )
    .option(
      "--server-hosts <list>",
      "fleets on several hosts, each host:first-last, comma-separated (instead of --host/--base-port/--workers)",
    )
    .option("--stats-socket <path>", "add a runtime API socket (stats socket <path> mode 600 level admin)")
    .option("--seed", "print the guide's haproxy.cfg exactly, for comparison");
  addFrontendOptions(haproxyConfig).action(() =>
    onParsed({ command: "haproxy-config", raw: haproxyConfig.opts<RawHaproxyConfigOptions>() }),
  );

  const reload = program
    .command("reload")
    .description("rolling restart of a running primary (sends it SIGHUP); finds a --haproxy primary by itself")
    .option("--pid <pid>", "the primary's pid (default: the one --haproxy primary of this user)");
  reload.action(() => onParsed({ command: "reload", raw: reload.opts<RawReloadOptions>() }));

  const status = program
    .command("status")
    .description("the state of a running primary's workers (and its HAProxy), like supervisorctl status")
    .option("--pid <pid>", "the primary's pid (default: the one running primary of this user)")
    .option("--json", "print the status as JSON");
  status.action(() => onParsed({ command: "status", raw: status.opts<RawStatusOptions>() }));

  return program.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

/** Parses argv; commander's own usage errors (unknown option, missing value) exit 2 like ours. */
export function parseCommandLine(argv: string[], version: string): ParsedCommand {
  let parsed: ParsedCommand | undefined;
  const program = buildProgram(version, (result) => {
    parsed = result;
  });
  // Subcommands inherit exitOverride and output settings only if set before they are added; set them on each.
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(text) });
  }
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpOrVersion = error.code === "commander.helpDisplayed" || error.code === "commander.version";
      process.exit(helpOrVersion ? 0 : EXIT_USAGE);
    }
    throw error;
  }
  if (!parsed) throw new Error("commander parsed no command");
  return parsed;
}
