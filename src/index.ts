/** The public surface of the wsfleet package: the types a user app is written against, and the option types. */
export type { ConnectionData, UpgradeRequest, WsfleetApp } from "./app/types.js";
export { WsfleetError, type WsfleetErrorCode } from "./errors.js";
export type { WorkerState, WorkerStatus } from "./fleet/worker-handle.js";
export { type Options, type RawOptions, validateOptions } from "./options.js";
export type { Counters } from "./worker/counters.js";
