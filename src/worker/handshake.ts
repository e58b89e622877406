import type uWS from "uWebSockets.js";
import { authorizeVerdict } from "../admission/authorize.js";
import { type GateSettings, gateRefusal } from "../admission/gate.js";
import type { LedgerClient } from "../admission/ledger-client.js";
import type { RefusalLog } from "../admission/refusal-log.js";
import { REFUSAL_ANSWERS, type RefusalAnswer, type RefusalReason } from "../admission/refusals.js";
import type { ConnectionData, UpgradeRequest, WsfleetApp } from "../api/types.js";
import type { Counters } from "../protocol/counters.js";
import type { WorkerSettings } from "../protocol/worker-env.js";
import { clientAddress } from "./client-address.js";

/** What the handshake shares with the host: the draining flag, the connections open and those being upgraded. */
interface HandshakeState {
  draining: boolean;
  readonly open: Set<unknown>;
  /** Handshakes admitted so far but waiting (on the ledger or `authorize`): they count against --max-connections. */
  upgrading: number;
}

export interface HandshakeDeps {
  readonly app: WsfleetApp;
  readonly settings: WorkerSettings;
  readonly counters: Counters;
  readonly state: HandshakeState;
  readonly gate: GateSettings;
  /** The primary's per-address ledger; undefined: no per-address limits in this worker. */
  readonly ledger: LedgerClient | undefined;
  readonly log: RefusalLog;
}

/** A hook that has not answered by then refuses with 500: a hung token service must not hold sockets forever. */
const AUTHORIZE_TIMEOUT_MS = 10_000;

/** The hook's answer, or a throw once it has taken longer than AUTHORIZE_TIMEOUT_MS. */
async function answerInTime<T>(answer: T | Promise<T>): Promise<T> {
  if (!(answer instanceof Promise)) return answer;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`it did not answer within ${AUTHORIZE_TIMEOUT_MS / 1000} s`)),
      AUTHORIZE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([answer, late]);
  } finally {
    clearTimeout(timer);
  }
}

const UPGRADE_HEADERS = ["sec-websocket-key", "sec-websocket-protocol", "sec-websocket-extensions"] as const;

/** A handshake copied out of uWebSockets.js' request, which is valid only until the upgrade handler returns. */
interface HeldHandshake {
  readonly request: UpgradeRequest;
  readonly key: string;
  readonly protocol: string;
  readonly extensions: string;
  /** The response went away (the client left): it must not be touched again. */
  aborted: boolean;
}

/** `allHeaders`: the app will read the request (authorize, userData); else only the upgrade's own three are kept. */
function holdHandshake(req: uWS.HttpRequest, remoteAddress: string, allHeaders: boolean): HeldHandshake {
  const headers = new Map<string, string>();
  if (allHeaders) {
    req.forEach((name, value) => {
      headers.set(name, value);
    });
  } else {
    for (const name of UPGRADE_HEADERS) headers.set(name, req.getHeader(name));
  }
  return {
    request: {
      url: req.getUrl(),
      query: req.getQuery(),
      remoteAddress,
      header: (name) => headers.get(name) ?? "",
    },
    key: headers.get("sec-websocket-key") ?? "",
    protocol: headers.get("sec-websocket-protocol") ?? "",
    extensions: headers.get("sec-websocket-extensions") ?? "",
    aborted: false,
  };
}

/**
 * The upgrade handler: the gate's checks first (draining, Origin, --max-connections), answered at once; then, when
 * the fleet has per-address limits or the app an `authorize` hook, the rest after `res.onAborted`, and the upgrade
 * inside `res.cork` once every check has passed.
 */
export function upgradeHandler(deps: HandshakeDeps): NonNullable<uWS.WebSocketBehavior<ConnectionData>["upgrade"]> {
  const { app, settings, counters, state, gate, ledger, log } = deps;
  const readsOrigin = gate.allowedOrigins !== undefined || gate.requireOrigin;
  const waits = ledger !== undefined || app.authorize !== undefined;
  const readsRequest = app.authorize !== undefined || app.userData !== undefined;

  const refuse = (res: uWS.HttpResponse, reason: RefusalReason, answer: RefusalAnswer, detail: string) => {
    counters.refused[reason] = (counters.refused[reason] ?? 0) + 1;
    if (reason === "draining") counters.rejectedHandshakes += 1;
    // A drain refuses on purpose; every other refusal is worth a line (at most one a second).
    else log.note(reason, detail);
    res.writeStatus(answer.status);
    if (answer.retryAfterSecs !== undefined) res.writeHeader("Retry-After", String(answer.retryAfterSecs));
    res.end(answer.body, true);
  };

  const connectionData = (request: UpgradeRequest, granted: object | undefined): ConnectionData => {
    const made = app.userData ? app.userData(request) : undefined;
    if (!made && !granted) return { remoteAddress: request.remoteAddress };
    return Object.assign(made ?? {}, granted, { remoteAddress: request.remoteAddress });
  };

  /** The checks that wait; the response is touched only inside cork, and never once the client has gone. */
  async function admitLater(res: uWS.HttpResponse, context: uWS.us_socket_context_t, held: HeldHandshake) {
    const { remoteAddress } = held.request;
    let reserved = false;
    const answer = (reason: RefusalReason, refusal: RefusalAnswer, detail = remoteAddress) => {
      if (reserved) ledger?.release(remoteAddress);
      if (!held.aborted) res.cork(() => refuse(res, reason, refusal, detail));
    };
    if (ledger) {
      const verdict = await ledger.ask(remoteAddress);
      if (!verdict) return answer("admission-unavailable", REFUSAL_ANSWERS["admission-unavailable"]);
      if (!verdict.admit) {
        const refusal = REFUSAL_ANSWERS[verdict.reason];
        return verdict.reason === "handshake-rate"
          ? answer(verdict.reason, { ...refusal, retryAfterSecs: verdict.retryAfterSecs })
          : answer(verdict.reason, refusal);
      }
      reserved = true;
    }
    let granted: object | undefined;
    if (app.authorize && !held.aborted) {
      let verdict: ReturnType<typeof authorizeVerdict>;
      try {
        verdict = authorizeVerdict(await answerInTime(app.authorize(held.request)));
      } catch (error) {
        verdict = { accept: false, error: `authorize threw: ${(error as Error)?.message ?? String(error)}` };
      }
      if (!verdict.accept) {
        if ("error" in verdict) {
          return answer("authorize-error", REFUSAL_ANSWERS["authorize-error"], `${verdict.error}, ${remoteAddress}`);
        }
        return answer("authorize", verdict.answer, `${verdict.answer.status}, ${remoteAddress}`);
      }
      granted = verdict.userData;
    }
    if (held.aborted) {
      if (reserved) ledger?.release(remoteAddress);
      return;
    }
    if (state.draining) return answer("draining", REFUSAL_ANSWERS.draining);
    let data: ConnectionData;
    try {
      data = connectionData(held.request, granted);
    } catch (error) {
      return answer(
        "authorize-error",
        REFUSAL_ANSWERS["authorize-error"],
        `userData threw: ${(error as Error)?.message}`,
      );
    }
    // From here the reservation is the connection's: the close handler releases it.
    res.cork(() => res.upgrade(data, held.key, held.protocol, held.extensions, context));
  }

  return (res, req, context) => {
    const origin = readsOrigin ? req.getHeader("origin") : "";
    const refusal = gateRefusal(gate, state.draining, state.open.size + state.upgrading, origin);
    if (refusal) {
      const address = clientAddress(res, req, settings.trustProxy);
      const detail = refusal === "origin" ? `Origin ${origin === "" ? "(none)" : origin}, ${address}` : address;
      refuse(res, refusal, REFUSAL_ANSWERS[refusal], detail);
      return;
    }
    const remoteAddress = clientAddress(res, req, settings.trustProxy);
    if (!waits) {
      const request: UpgradeRequest = {
        url: req.getUrl(),
        query: req.getQuery(),
        remoteAddress,
        header: (name) => req.getHeader(name),
      };
      res.upgrade(
        connectionData(request, undefined),
        req.getHeader("sec-websocket-key"),
        req.getHeader("sec-websocket-protocol"),
        req.getHeader("sec-websocket-extensions"),
        context,
      );
      return;
    }
    const held = holdHandshake(req, remoteAddress, readsRequest);
    res.onAborted(() => {
      held.aborted = true;
    });
    state.upgrading += 1;
    admitLater(res, context, held)
      .catch((error: Error) => {
        // A bug of ours, not the app's: the handshake is refused and the worker lives.
        if (!held.aborted) {
          res.cork(() =>
            refuse(res, "authorize-error", REFUSAL_ANSWERS["authorize-error"], `internal: ${error.message}`),
          );
        }
      })
      .finally(() => {
        state.upgrading -= 1;
      });
  };
}
