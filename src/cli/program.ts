import { Command, CommanderError, Option } from "commander";
import { type CommandName, defaultText, type RawOptions, settingsFor } from "../config/settings.js";
import { EXIT_USAGE } from "../errors.js";

/** What to do, and the command line's raw values for it (validated once, later, by the command). */
export interface ParsedCommand {
  command: CommandName;
  raw: RawOptions;
  /** The command's positional arguments (`wsfleet scale 4` → ["4"]); a missing optional one is undefined. */
  args: (string | undefined)[];
}

const SIGNALS_HELP = `
Signals to the primary:
  SIGTERM, SIGINT  graceful stop: connections closed with 1001, SIGKILL after --stop-timeout (a second SIGINT: at once;
                   also: wsfleet stop)
  SIGHUP           reload: with --config, the file is re-read and what changed applied (worker count: scale; worker
                   settings: rolling restart; HAProxy settings: seamless HAProxy reload); unchanged, or without
                   --config: rolling restart, one worker at a time, old connections closed with 1012 (also: wsfleet
                   reload); with --tls-cert, the certificate files are re-read first (also: wsfleet reload-cert)
  SIGTTIN, SIGTTOU one worker more, one worker less (also: wsfleet scale <n>)
  SIGUSR2          upgrade: start the wsfleet now on disk as a new primary, hand it the listening sockets, then
                   drain this generation and exit (also: wsfleet upgrade; with --haproxy or --shared-port)`;

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

/** Each subcommand: its name, its positional arguments (commander's `<required>` and `[optional]`), its help. */
const SUBCOMMANDS: ReadonlyArray<[Exclude<CommandName, "run">, string[], string]> = [
  ["haproxy-config", [], "print a WebSocket-ready haproxy.cfg for a fleet, for an HAProxy you run yourself"],
  [
    "reload",
    [],
    "re-read a running primary's --config and apply what changed (else a rolling restart), as SIGHUP; waits until done",
  ],
  [
    "reload-cert",
    [],
    "re-read --tls-cert/--tls-key of a running primary: HAProxy swaps it live, built-in workers in a rolling restart",
  ],
  [
    "upgrade",
    [],
    "replace a running primary by the wsfleet now on disk without dropping a connection (as SIGUSR2); waits until the new one serves",
  ],
  ["status", [], "the state of a running primary's workers (and its HAProxy), like supervisorctl status"],
  [
    "systemd-unit",
    [],
    "print a systemd unit (Type=notify, reload, hardening) that runs the fleet these options describe",
  ],
  ["scale", ["<n>"], "grow or shrink the running fleet to n workers (HAProxy follows); waits until they have settled"],
  ["restart", ["<name>"], "drain and replace one worker (as in a rolling restart), or all of them: restart all"],
  ["stop", [], "graceful stop of the running primary (as SIGTERM); waits until it has exited, returns its status"],
  ["logs", ["[name]"], "the last lines each worker printed and the primary's events; -f follows"],
  ["config", [], "print every setting in effect for these options and --config file, and where each came from"],
  ["client", ["<url>"], "interactive WebSocket client, as python -m websockets <url>: type messages, Ctrl-D ends"],
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
    .action(() => onParsed({ command: "run", raw: program.opts<RawOptions>(), args: [] }));
  for (const [name, args, description] of SUBCOMMANDS) {
    const sub = program.command(name).description(description);
    for (const arg of args) sub.argument(arg);
    addSettings(sub, name);
    sub.action(() => onParsed({ command: name, raw: sub.opts<RawOptions>(), args: sub.processedArgs }));
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
