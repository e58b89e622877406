import { Command, CommanderError, Option } from "commander";
import { type CommandName, defaultText, type RawOptions, settingsFor } from "../config/settings.js";
import { EXIT_USAGE } from "../errors.js";

/** What to do, and the command line's raw values for it (validated once, later, by the command). */
export interface ParsedCommand {
  command: CommandName;
  raw: RawOptions;
}

const SIGNALS_HELP = `
Signals to the primary:
  SIGTERM, SIGINT  graceful stop: connections closed with 1001, SIGKILL after --stop-timeout (a second SIGINT: at once)
  SIGHUP           rolling restart, one worker at a time; old connections closed with 1012 (also: wsfleet reload);
                   with --tls-cert, the certificate files are re-read first (also: wsfleet reload-cert)
  SIGTTIN, SIGTTOU one worker more, one worker less`;

/** The README's markdown, flattened for a terminal: no backticks, links as their text. */
function plainText(markdown: string): string {
  return markdown
    .replace(/\[([^\]]+)\]\([^)]*\)/g, "$1")
    .replace(/`/g, "")
    .replace(/(^|\s)_([^_\s]+)_(?=\s|$)/g, "$1$2");
}

/** Adds the settings table's options for `command` to a commander command. */
function addSettings(target: Command, command: CommandName): Command {
  for (const [, entry] of settingsFor(command)) {
    const shown = defaultText(entry);
    const help = plainText(shown === undefined ? entry.help : `${entry.help} (default: ${shown})`);
    target.addOption(new Option(entry.flags, help));
  }
  return target;
}

const SUBCOMMANDS: ReadonlyArray<[Exclude<CommandName, "run">, string]> = [
  ["haproxy-config", "print a WebSocket-ready haproxy.cfg for a fleet, for an HAProxy you run yourself"],
  ["reload", "rolling restart of a running primary (sends it SIGHUP); finds a running primary by itself"],
  [
    "reload-cert",
    "re-read --tls-cert/--tls-key of a running primary: HAProxy swaps it live, built-in workers in a rolling restart",
  ],
  ["status", "the state of a running primary's workers (and its HAProxy), like supervisorctl status"],
];

/** The command line, as commander reads it; values stay strings here and are validated once by the command. */
export function buildProgram(version: string, onParsed: (parsed: ParsedCommand) => void): Command {
  const program = new Command("wsfleet")
    .description(
      "Run N WebSocket workers on consecutive ports, Supervisor-style: the built-in uWebSockets.js echo, or any program with --exec.",
    )
    .version(version)
    // Subcommands read their own options: `wsfleet haproxy-config --workers 8` is haproxy-config's --workers.
    .enablePositionalOptions()
    .helpCommand("help [command]", "show help for wsfleet or one of its commands");
  addSettings(program, "run")
    .addHelpText("after", SIGNALS_HELP)
    .action(() => onParsed({ command: "run", raw: program.opts<RawOptions>() }));
  for (const [name, description] of SUBCOMMANDS) {
    const sub = addSettings(program.command(name).description(description), name);
    sub.action(() => onParsed({ command: name, raw: sub.opts<RawOptions>() }));
  }
  // Subcommands inherit exitOverride and output settings only if set before they are added; set them on each.
  for (const command of [program, ...program.commands]) {
    command.exitOverride().configureOutput({ writeErr: (text) => process.stderr.write(text) });
  }
  return program;
}

/** Parses argv; commander's own usage errors (unknown option, missing value) exit 2 like ours. */
export function parseCommandLine(argv: string[], version: string): ParsedCommand {
  let parsed: ParsedCommand | undefined;
  const program = buildProgram(version, (result) => {
    parsed = result;
  });
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
