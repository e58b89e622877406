import { execFile } from "node:child_process";

/**
 * What the primary tells systemd over NOTIFY_SOCKET (sd_notify(3)): `READY=1` once the fleet serves, `RELOADING=1`
 * … `READY=1` around a rolling restart, `STOPPING=1` at a graceful stop, and a `STATUS=` line with each.
 */
export interface ServiceNotifier {
  /** Resolves once the message is handed over (never rejects: systemd's view is not worth failing the fleet for). */
  notify(...assignments: string[]): Promise<void>;
}

/** The notify socket's datagrams are sent by this program (Debian's `systemd` package). */
const SYSTEMD_NOTIFY = "systemd-notify";

/** Runs `systemd-notify` with `args` and the socket in its environment; rejects when it fails. */
export type NotifyRunner = (args: readonly string[], notifySocket: string) => Promise<void>;

const runSystemdNotify: NotifyRunner = (args, notifySocket) =>
  new Promise((resolve, reject) => {
    execFile(
      SYSTEMD_NOTIFY,
      [...args],
      { env: { ...process.env, NOTIFY_SOCKET: notifySocket }, timeout: 10_000 },
      (error, _stdout, stderr) => (error ? reject(new Error(stderr.trim() || error.message)) : resolve()),
    );
  });

/**
 * Node has no unix datagram sockets, so each message goes through `systemd-notify`. It sends the datagram with our
 * pid as the sender when it may (root), else its own (hence the unit's NotifyAccess=all), and then waits until
 * systemd has read it (a BARRIER=1 round trip, systemd ≥ 246), so systemd never sees a sender that is already gone.
 * Messages go out one at a time, in order. Without NOTIFY_SOCKET nothing is sent and no process is started.
 */
export function systemdNotifier(
  notifySocket: string | undefined,
  onError: (message: string) => void,
  run: NotifyRunner = runSystemdNotify,
): ServiceNotifier {
  if (!notifySocket) return { notify: async () => {} };
  let queue: Promise<void> = Promise.resolve();
  let failed = false;
  return {
    notify(...assignments) {
      queue = queue.then(() =>
        run(assignments, notifySocket).catch((error: Error) => {
          if (failed) return;
          failed = true;
          onError(
            `could not notify systemd (${assignments.join(" ")}) with ${SYSTEMD_NOTIFY}: ${error.message}; it comes with Debian's systemd package (apt-get install -y systemd)`,
          );
        }),
      );
      return queue;
    },
  };
}

/** The new primary of a `wsfleet upgrade`: its first READY=1 also says MAINPID=, so systemd follows it. */
export function withMainPid(notifier: ServiceNotifier, pid: number): ServiceNotifier {
  let told = false;
  return {
    notify(...assignments) {
      if (told || !assignments.includes("READY=1")) return notifier.notify(...assignments);
      told = true;
      return notifier.notify(`MAINPID=${pid}`, ...assignments);
    },
  };
}
