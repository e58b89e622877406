import type { Options } from "../config/validate.js";
import type { LoadedSettings } from "../config-file/load.js";
import { effectiveSettings } from "../config-file/parse.js";
import { wsfleetError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { LastReload } from "../protocol/control.js";
import { describeChange, planReload } from "./plan.js";

/** A config file read and validated: what the fleet runs with. */
export interface LoadedOptions {
  readonly settings: LoadedSettings;
  readonly options: Options;
}

export interface ReloaderDeps {
  /** Re-reads and validates the config file (the same flags laid over it); throws what is wrong, exit 2. */
  load(): LoadedOptions;
  /** From now on new workers (replacements, added slots) start with these options. */
  useWorkerOptions(options: Options): void;
  /** The fleet's worker count now (it may have been scaled since the file was read). */
  size(): number;
  scaleTo(count: number): Promise<void>;
  /** HAProxy's seamless reload with these options' HAProxy settings; rejects (the old one serves on) if it fails. */
  reloadHaproxy(options: Options): Promise<void>;
  /** The rolling restart, one worker at a time (with --tls-cert the certificate is re-read first). */
  rollWorkers(): Promise<void>;
  logger: Logger;
  now(): Date;
}

function effective(loaded: LoadedOptions) {
  return effectiveSettings(loaded.settings.raw, loaded.settings.sources, loaded.options.fleet.workers);
}

/**
 * `wsfleet reload` and SIGHUP with --config: re-read the file, validate it, plan (plan.ts), and only then apply. A bad
 * file, or one that changes what needs a restart, changes nothing. A file that changed nothing rolls the workers, as
 * SIGHUP always has (gunicorn's and nginx's HUP replace the workers too).
 */
export class ConfigReloader {
  private last: LastReload | undefined;

  constructor(
    private current: LoadedOptions,
    private readonly deps: ReloaderDeps,
  ) {}

  /** For `wsfleet status`: when the file was last re-read, and what that changed or why it was refused. */
  get lastReload(): LastReload | undefined {
    return this.last;
  }

  /** Resolves with what was done once it is done; rejects (nothing changed) with the reason. */
  async reload(): Promise<LastReload> {
    const { logger } = this.deps;
    const file = this.current.settings.file ?? "";
    const at = this.deps.now().toISOString();
    const refuse = (error: Error, message: string): never => {
      this.last = { at, file, changes: [], refused: message };
      logger.event("error", "reload-refused", message);
      throw error;
    };
    let next: LoadedOptions;
    try {
      next = this.deps.load();
    } catch (error) {
      // The file's own error (key, value, fix) is the answer; the log says nothing changed.
      return refuse(error as Error, `reload refused, nothing changed: ${(error as Error).message}`);
    }
    const plan = planReload(effective(this.current), effective(next));
    if (plan.refused.length > 0) {
      const error = wsfleetError("reloadRefused", file, plan.refused);
      return refuse(error, error.message);
    }
    const changes = plan.changes.map(describeChange);
    this.last = { at, file, changes, refused: undefined };
    if (changes.length === 0) {
      logger.event("info", "reload", `${file} unchanged: rolling restart of the workers, as SIGHUP without changes`);
      await this.deps.rollWorkers();
      return this.last;
    }
    logger.event("info", "reload", `${file}: ${changes.join(", ")}`);
    // First, as it is the one step that can fail: then nothing else of the file has been applied.
    if (plan.reloadHaproxy) {
      await this.deps.reloadHaproxy(next.options).catch((error: Error) => {
        const failed = wsfleetError("reloadFailed", file, error.message);
        return refuse(failed, failed.message);
      });
    }
    this.current = next;
    if (plan.rollWorkers) this.deps.useWorkerOptions(next.options);
    // Shrink before rolling and grow after: no worker is started only to be replaced, or replaced only to be removed.
    const { scaleTo } = plan;
    const growing = scaleTo !== undefined && scaleTo > this.deps.size();
    if (scaleTo !== undefined && !growing) await this.deps.scaleTo(scaleTo);
    if (plan.rollWorkers) await this.deps.rollWorkers();
    if (scaleTo !== undefined && growing) await this.deps.scaleTo(scaleTo);
    logger.event("info", "reload", `reload of ${file} done: ${changes.join(", ")}`);
    return this.last;
  }
}
