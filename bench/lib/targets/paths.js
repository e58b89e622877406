/** Where the targets' programs live. */
import { fileURLToPath } from "node:url";

export const BENCH_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const ROOT_DIR = fileURLToPath(new URL("../../..", import.meta.url));
export const PRIMARY = `${ROOT_DIR}dist/primary.js`;
export const SERVERS_DIR = `${BENCH_DIR}servers/`;
