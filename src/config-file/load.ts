/** `--config <file>` at the edge: the file read (and re-read by `wsfleet reload`), merged under the command line. */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { RawOptions, SettingName } from "../config/settings.js";
import { type OptionDefaults, type Options, validateOptions } from "../config/validate.js";
import { WsfleetError, wsfleetError } from "../errors.js";
import { blameFile, mergeOptions, parseConfigText, type SettingSource, settingSources } from "./parse.js";

/** The options in effect and where each came from; `flags` kept so a reload can lay them over the new file again. */
export interface LoadedSettings {
  readonly flags: RawOptions;
  /** The config file's absolute path, if --config was given. */
  readonly file: string | undefined;
  readonly raw: RawOptions;
  readonly sources: Record<SettingName, SettingSource>;
}

/** Reads --config (if given) and lays the command line's options over it. */
export function loadSettings(flags: RawOptions, cwd: string, webConcurrency: string | undefined): LoadedSettings {
  const file = flags.config === undefined ? undefined : path.resolve(cwd, flags.config.trim());
  let fileRaw: RawOptions | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw wsfleetError("configFileUnreadable", file, (error as NodeJS.ErrnoException).code ?? String(error));
    }
    fileRaw = parseConfigText(text, file);
  }
  const raw = mergeOptions({ ...flags, ...(file === undefined ? {} : { config: file }) }, fileRaw);
  return Object.freeze({ flags, file, raw, sources: settingSources(flags, fileRaw, webConcurrency) });
}

/** validateOptions on the merged options; a refusal of a value the file gave names the file and its key. */
export function validateLoaded(loaded: LoadedSettings, defaults: OptionDefaults): Options {
  try {
    return validateOptions(loaded.raw, defaults);
  } catch (error) {
    if (!(error instanceof WsfleetError) || loaded.file === undefined) throw error;
    throw new WsfleetError(error.code, blameFile(error.message, loaded.sources, loaded.file), error.exitCode);
  }
}
