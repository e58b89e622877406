#!/usr/bin/env node
/**
 * The orphan guard: a tiny process that outlives the primary by design. The primary writes `+<pgid>` when a
 * worker's process group starts and `-<pgid>` when it is gone. When the primary dies by any means, SIGKILL
 * included, the kernel closes our stdin and we SIGKILL every group still listed, so no worker is left behind.
 */
import { runOrphanGuard } from "./fleet/orphan-guard.js";

runOrphanGuard(process.stdin);
