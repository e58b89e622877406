import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { wsfleetError } from "../errors.js";

/** Finds `bin` (a path, or a name on PATH) or fails saying how to install HAProxy. */
export async function resolveHaproxyBinary(bin: string, searchPath = process.env.PATH ?? ""): Promise<string> {
  const candidates = bin.includes("/") ? [bin] : searchPath.split(":").map((dir) => path.join(dir || ".", bin));
  for (const candidate of candidates) {
    if (
      await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  throw wsfleetError("haproxyNotFound", bin);
}

/** `haproxy -c -f <file>`: resolves when HAProxy accepts the file, throws with HAProxy's own error text when not. */
export function checkConfigFile(bin: string, configPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, ["-c", "-f", configPath], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const output = `${stdout}${stderr}`.trim() || error.message;
      reject(wsfleetError("haproxyConfigInvalid", configPath, output));
    });
  });
}

/** `haproxy -v`'s version ("2.6.12-1+deb12u1"), for wsfleet_info; undefined if it cannot be read. */
export function haproxyVersion(bin: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(bin, ["-v"], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : /version (\S+)/i.exec(stdout)?.[1]);
    });
  });
}
