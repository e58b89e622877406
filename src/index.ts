/** The public surface of the wsfleet package: the types a user app is written against, and the option types. */
export type {
  AuthorizeResult,
  ConnectionData,
  EnvelopeInput,
  Fleet,
  Recovery,
  SincePosition,
  StoredMessage,
  StreamPosition,
  SubscribeResult,
  UpgradeRequest,
  WsfleetApp,
} from "./api/types.js";
export type { Options } from "./config/validate.js";
export { WsfleetError, type WsfleetErrorCode } from "./errors.js";
export type { WorkerStatus } from "./protocol/control.js";
export type { Counters } from "./protocol/counters.js";
export type { ProcessState } from "./supervise/states.js";
