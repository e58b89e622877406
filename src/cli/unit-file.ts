/**
 * A systemd service unit for a fleet (systemd.service(5), systemd.exec(5)), modelled on HAProxy's own unit:
 * Type=notify, KillMode=mixed, reload by signal. Pure: the command (systemd-unit.ts) gathers paths and options.
 */
export interface UnitInput {
  readonly description: string;
  /** Absolute: systemd runs ExecStart without a shell and without the user's PATH. */
  readonly nodePath: string;
  readonly scriptPath: string;
  /** wsfleet's options, as given, ending with --runtime-dir /run/<runtimeDirectory>. */
  readonly args: readonly string[];
  /** With --config: `wsfleet reload`'s arguments (then `--pid $MAINPID`), which waits and fails on a refused file. */
  readonly reloadArgs: readonly string[] | undefined;
  /** RuntimeDirectory=, relative to /run: systemd creates it (mode 700, owned by User=) and removes it at stop. */
  readonly runtimeDirectory: string;
  readonly workingDirectory: string;
  readonly user: string | undefined;
  /** --stop-timeout plus the drain, with HAProxy's own stop after the workers', plus a margin. */
  readonly timeoutStopSecs: number;
  readonly limitNofile: number;
  /** node, wsfleet or the working directory lives in a home directory: ProtectHome=read-only keeps it readable. */
  readonly readsHome: boolean;
}

/** Every directory ProtectHome= hides. */
const HOME_DIRECTORIES = ["/home/", "/root/", "/run/user/"];

export function isUnderHome(absolutePath: string): boolean {
  return HOME_DIRECTORIES.some((dir) => `${absolutePath}/`.startsWith(dir));
}

/**
 * One word of a unit's command line: quoted when it has to be, with `%` (specifiers) and `$` (environment
 * variables) doubled so systemd passes them through (systemd.service(5), "Command lines").
 */
function quoteUnitWord(word: string): string {
  const quoted = /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `"${word.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return quoted.replace(/%/g, "%%").replace(/\$/g, "$$$$");
}

/** The unit file's text. */
export function renderUnit(input: UnitInput): string {
  const wsfleet = (args: readonly string[]) => [input.nodePath, input.scriptPath, ...args].map(quoteUnitWord).join(" ");
  const command = wsfleet(input.args);
  const lines = [
    "# Written by `wsfleet systemd-unit`. Install it as /etc/systemd/system/wsfleet.service, then:",
    "#   systemctl daemon-reload && systemctl enable --now wsfleet",
    "[Unit]",
    `Description=${input.description}`,
    "After=network-online.target",
    "Wants=network-online.target",
    "",
    "[Service]",
    // READY=1 once every worker is RUNNING (and HAProxy sees them UP); sent by systemd-notify, a child, hence all.
    "Type=notify",
    "NotifyAccess=all",
    `ExecStart=${command}`,
    // SIGHUP (or wsfleet reload with --config): the primary says RELOADING=1, then READY=1 once it is applied.
    input.reloadArgs === undefined
      ? "ExecReload=/bin/kill -HUP $MAINPID"
      : `ExecReload=${wsfleet(input.reloadArgs)} --pid $MAINPID`,
    // SIGTERM to the primary alone, which stops the workers in order; SIGKILL to whatever is left after the timeout.
    "KillMode=mixed",
    `TimeoutStopSec=${input.timeoutStopSecs}`,
    "Restart=on-failure",
    "RestartSec=1",
    `LimitNOFILE=${input.limitNofile}`,
    `RuntimeDirectory=${input.runtimeDirectory}`,
    "RuntimeDirectoryMode=0700",
    `WorkingDirectory=${input.workingDirectory}`,
    ...(input.user === undefined ? [] : [`User=${input.user}`]),
    "NoNewPrivileges=yes",
    // Read-only everywhere but /run/<RuntimeDirectory>, where the control socket and HAProxy's config go.
    "ProtectSystem=strict",
    `ProtectHome=${input.readsHome ? "read-only" : "yes"}`,
    "PrivateTmp=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
  ];
  return `${lines.join("\n")}\n`;
}
