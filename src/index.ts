/** The public surface of the wsfleet package. */

export { WsfleetError, type WsfleetErrorCode } from "./errors.js";
export type { WorkerState, WorkerStatus } from "./fleet/worker-handle.js";
export { type Options, type RawOptions, validateOptions } from "./options.js";
