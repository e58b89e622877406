import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** How long a clean stop waits for the guard to exit after `k`. */
const GUARD_EXIT_WAIT_MS = 2000;

/** Every process the primary starts carries this variable, naming the primary, so the guard can find it. */
export const PRIMARY_PID_VARIABLE = "WSFLEET_PRIMARY_PID";

export interface OrphanGuardOptions {
  /** The process whose death the guard waits for: passed in its arguments, never guessed from its parent. */
  primaryPid: number;
  /** Directories whose path starts with this are removed when the primary dies (its runtime directory). */
  removeOnDeathPrefix: string;
  onExit?(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * The primary's side of the orphan guard (guard.ts runs the other side): start the guard before anything else and
 * tell it which process groups to kill if the primary dies. Every child must carry `marker` in its environment.
 */
export class OrphanGuard {
  private child: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private closed = false;
  readonly marker: Readonly<Record<string, string>>;

  constructor(private readonly options: OrphanGuardOptions) {
    this.marker = Object.freeze({ [PRIMARY_PID_VARIABLE]: String(options.primaryPid) });
  }

  start(): void {
    const script = fileURLToPath(new URL("../guard.js", import.meta.url));
    const { primaryPid, removeOnDeathPrefix } = this.options;
    const child = spawn(
      process.execPath,
      ["--max-old-space-size=16", script, String(primaryPid), removeOnDeathPrefix],
      { stdio: ["pipe", "ignore", "inherit"], detached: true, env: { ...process.env, ...this.marker } },
    );
    child.unref();
    child.stdin?.on("error", () => {});
    child.once("exit", (code, signal) => {
      this.child = undefined;
      if (this.closed) return;
      this.options.onExit?.(code, signal);
      // Someone killed the guard: start another and hand it the list.
      this.start();
    });
    this.child = child;
    for (const pgid of this.groups) this.write(`+${pgid}`);
  }

  watch(pgid: number): void {
    this.groups.add(pgid);
    this.write(`+${pgid}`);
  }

  unwatch(pgid: number): void {
    this.groups.delete(pgid);
    this.write(`-${pgid}`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * On a clean stop every group is gone already; `k` tells the guard so, and it exits with nothing to kill or remove.
   * Resolves once it has exited (at most `waitMs`), so that under systemd the primary is the last to go and nothing
   * is left in the unit's cgroup for KillMode=mixed to SIGKILL.
   */
  close(waitMs = GUARD_EXIT_WAIT_MS): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return Promise.resolve();
    // The guard was unref'd so as not to keep us alive; now its exit is what we wait for.
    child.ref();
    const exited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.write("k");
    child.stdin?.end();
    return exited;
  }

  private write(line: string): void {
    this.child?.stdin?.write(`${line}\n`);
  }
}
