/** The I/O around pem.ts: reads the TLS files the user named and writes the checked PEM where wsfleet serves it from. */
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TlsOptions } from "../config/validate.js";
import { inspectTls, type TlsMaterial, tlsProblem } from "./pem.js";

async function readTlsFile(option: string, file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "cannot be read by this user (permission denied)"
          : code === "EISDIR"
            ? "is a directory, not a file"
            : `cannot be read (${(error as Error).message})`;
    throw tlsProblem(option, file, problem);
  }
}

/** Paths as given, made absolute against `cwd`: a reload reads the same files whatever the primary's cwd. */
export function resolveTlsFiles(tls: TlsOptions, cwd: string): TlsOptions {
  return Object.freeze({
    certFile: path.resolve(cwd, tls.certFile),
    keyFile: tls.keyFile === undefined ? undefined : path.resolve(cwd, tls.keyFile),
  });
}

/** Reads and checks the files now: at start, and again on every reload-cert. */
export async function loadTls(tls: TlsOptions, now = new Date()): Promise<TlsMaterial> {
  const certText = await readTlsFile("--tls-cert", tls.certFile);
  const keyText = tls.keyFile === undefined ? undefined : await readTlsFile("--tls-key", tls.keyFile);
  return inspectTls({ certFile: tls.certFile, certText, keyFile: tls.keyFile, keyText }, now);
}

/** Writes the combined PEM (it holds the key) with mode 0600, atomically: a reader never sees half a file. */
export async function writeCombinedPem(file: string, material: TlsMaterial): Promise<void> {
  const partial = `${file}.${process.pid}.tmp`;
  await writeFile(partial, material.combinedPem, { mode: 0o600 });
  await rename(partial, file);
}
