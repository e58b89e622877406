#!/usr/bin/env node
/**
 * The orphan guard: a tiny process that outlives the primary by design. The primary starts it first, naming itself
 * and its runtime directory in the arguments, and writes `+<pgid>` when a worker's process group starts and `-<pgid>`
 * when it is gone. When the primary dies by any means, SIGKILL included, the kernel closes our stdin and we SIGKILL
 * every group still listed and every process that names the primary, and remove the runtime directory.
 */
import { runOrphanGuard } from "./supervise/guard-process.js";

runOrphanGuard(process.stdin, Number(process.argv[2]), process.argv[3] ?? "");
