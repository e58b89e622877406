/**
 * What an app's `authorize` hook answered, made into a decision: accept (with data for the connection) or refuse with
 * an HTTP status and a short body. Anything else is the app's mistake, refused with 500 and logged. Pure.
 */
import type { AuthorizeResult } from "../api/types.js";
import { type RefusalAnswer, statusLine } from "./refusals.js";

export type AuthorizeVerdict =
  | { readonly accept: true; readonly userData: object | undefined }
  | { readonly accept: false; readonly answer: RefusalAnswer }
  | { readonly accept: false; readonly error: string };

const FORBIDDEN: AuthorizeVerdict = Object.freeze({
  accept: false,
  answer: { status: statusLine(403), body: "forbidden\n" },
});
const ACCEPT: AuthorizeVerdict = Object.freeze({ accept: true, userData: undefined });
/** A refusal's body is for a person reading a browser's network tab: one short line. */
const MAX_REASON_CHARS = 200;

function describe(value: unknown): string {
  try {
    return JSON.stringify(value)?.slice(0, MAX_REASON_CHARS) ?? String(value);
  } catch {
    return String(value);
  }
}

export function authorizeVerdict(result: AuthorizeResult | unknown): AuthorizeVerdict {
  if (result === true) return ACCEPT;
  if (result === false) return FORBIDDEN;
  if (typeof result === "object" && result !== null) {
    if ("userData" in result) {
      const { userData } = result as { userData: unknown };
      if (typeof userData === "object" && userData !== null) return { accept: true, userData };
      return { accept: false, error: `authorize returned userData ${describe(userData)}, which is not an object` };
    }
    if ("status" in result) {
      const { status, reason } = result as { status: unknown; reason?: unknown };
      if (typeof status !== "number" || !Number.isInteger(status) || status < 400 || status > 599) {
        return { accept: false, error: `authorize returned status ${describe(status)}; a refusal is 400 to 599` };
      }
      const text = typeof reason === "string" && reason !== "" ? reason : statusLine(status).slice(4);
      const body = `${text.replace(/[\r\n]+/g, " ").slice(0, MAX_REASON_CHARS)}\n`;
      return { accept: false, answer: { status: statusLine(status), body } };
    }
  }
  return {
    accept: false,
    error: `authorize returned ${describe(result)}; expected true, false, { status, reason } or { userData }`,
  };
}
