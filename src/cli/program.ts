import { Command, CommanderError } from "commander";
import { EXIT_USAGE } from "../errors.js";
import type { RawOptions } from "../options.js";

export interface ParsedCommand {
  raw: RawOptions;
}

/** The command line, as commander reads it; values stay strings here and are validated once in validateOptions. */
export function buildProgram(version: string): Command {
  return new Command("wsfleet")
    .description(
      "Run N WebSocket workers on consecutive ports, Supervisor-style: the built-in uWebSockets.js echo, or any program with --exec.",
    )
    .version(version)
    .option("-w, --workers <n>", "number of workers (default: WEB_CONCURRENCY, else the number of CPUs)")
    .option("-p, --base-port <port>", "port of the first worker; worker i listens on base-port + i (default: 8000)")
    .option("-H, --host <host>", "address the workers listen on (default: localhost)")
    .option("-n, --name <name>", "program name; workers are <name>_00, <name>_01, ... (default: websockets-test)")
    .option("-e, --exec <command>", "run this command in each slot instead of the built-in echo (via /bin/sh)")
    .option("--start-secs <s>", "seconds a worker must stay up, listening, to count as started (default: 1)")
    .option("--start-retries <n>", "failed starts in a row before a worker is FATAL (default: 3)")
    .option("--stop-timeout <s>", "seconds a stopping worker gets before SIGKILL (default: 10)")
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
    .option("--drain-timeout <s>", "seconds a draining worker keeps connections before closing them (default: 1)")
    .option("--trust-proxy", "take the client address from X-Forwarded-For (PROXY protocol v2 is always understood)")
    .option("--metrics <[host:]port>", "serve Prometheus metrics of every worker on this port (host default 127.0.0.1)")
    .addHelpText(
      "after",
      `
Signals to the primary:
  SIGTERM, SIGINT  graceful stop: connections closed with 1001, SIGKILL after --stop-timeout (a second SIGINT: at once)
  SIGHUP           rolling restart, one worker at a time; old connections closed with 1012
  SIGTTIN, SIGTTOU one worker more, one worker less`,
    )
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
}

/** Parses argv; commander's own usage errors (unknown option, missing value) exit 2 like ours. */
export function parseCommandLine(argv: string[], version: string): ParsedCommand {
  const program = buildProgram(version);
  try {
    program.parse(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      const helpOrVersion = error.code === "commander.helpDisplayed" || error.code === "commander.version";
      process.exit(helpOrVersion ? 0 : EXIT_USAGE);
    }
    throw error;
  }
  return { raw: program.opts<RawOptions>() };
}
