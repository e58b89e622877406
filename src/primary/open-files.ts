import { readFileSync } from "node:fs";

/** This process's soft RLIMIT_NOFILE (children inherit it), from /proc; undefined where /proc has no such line. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((each) => each.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}
