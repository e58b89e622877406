#!/usr/bin/env node
/** A built-in worker: the uWebSockets.js echo on PORT, reporting to the primary over IPC. */
import { runWorker } from "./worker/run.js";

await runWorker(process.env);
