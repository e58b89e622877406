import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Options } from "../config/validate.js";
import { invalidOption } from "../errors.js";

/** --app names a file: resolved from `cwd` and checked here, at the edge, so validation itself stays pure. */
export function resolveAppModule(options: Options, cwd: string): Options {
  const { worker } = options.fleet;
  if (worker.kind !== "builtin" || worker.app === undefined) return options;
  const app = resolve(cwd, worker.app);
  if (!existsSync(app)) {
    throw invalidOption(
      "--app",
      worker.app,
      "the path of an existing module, for example --app ./examples/chat-room.js",
    );
  }
  return Object.freeze({
    ...options,
    fleet: Object.freeze({ ...options.fleet, worker: Object.freeze({ kind: "builtin" as const, app }) }),
  });
}
