import type uWS from "uWebSockets.js";
import type { Fleet } from "../api/types.js";
import type { WorkerHistory } from "../history/worker-history.js";
import { encodeFrame, forEachFrame, HISTORY } from "../protocol/bus-frames.js";
import type { Counters } from "../protocol/counters.js";
import type { BrokerPeer } from "./broker-peer.js";
import type { BusClient } from "./bus-client.js";
import type { TopicInterest } from "./topic-interest.js";

const NO_HISTORY = "fleet.history needs --history <n>: the fleet keeps no messages without it";

/**
 * `fleet.publish`: this worker's subscribers through uWebSockets.js' own `app.publish` (no round trip), the other
 * workers through the bus, other hosts (--broker) through Redis, to which the worker publishes itself. With
 * --history, every publish goes through the hub's sequencer instead and comes back with its offset
 * (src/history/worker-history.ts).
 */
export function createFleetHandle(
  server: uWS.TemplatedApp,
  bus: BusClient | undefined,
  workerName: string,
  counters: Counters,
  compress: boolean,
  interest: TopicInterest,
  history: WorkerHistory<uWS.WebSocket<object>> | undefined,
  broker: BrokerPeer | undefined,
): Fleet {
  if (history) {
    return {
      workerName,
      publish(topic, message, isBinary = false) {
        counters.published += 1;
        const sent = history.publish(topic, message, isBinary);
        void sent.then((position) => {
          if (!position) counters.dropped += 1;
        });
        return sent;
      },
      subscribe: (ws, topic, since, beforeLive) => history.subscribe(ws, topic, since, beforeLive),
      history: (topic, options) => history.history(topic, options),
    };
  }
  return {
    workerName,
    publish(topic, message, isBinary = false) {
      counters.published += 1;
      // Only what another worker serves goes to the hub (topic routing); with workers on Redis, everything to Redis.
      const toHub = bus !== undefined && interest.mustLeave(topic);
      if (toHub || broker) {
        const frame = encodeFrame(topic, message, isBinary);
        if (toHub && !bus.send(frame)) counters.dropped += 1;
        broker?.publish(frame);
      } else if (bus) counters.kept += 1;
      server.publish(topic, message, isBinary, compress);
      return undefined;
    },
    subscribe(ws, topic, since, beforeLive) {
      const result = { recovered: since === undefined, position: undefined, sent: 0 };
      beforeLive?.(result);
      ws.subscribe(topic);
      return Promise.resolve(result);
    },
    history: () => Promise.reject(new Error(NO_HISTORY)),
  };
}

/** Publishes from the bus to this worker's subscribers; the frames' bytes are views, used before this returns. */
export function deliverFromBus(
  server: uWS.TemplatedApp,
  counters: Counters,
  compress: boolean,
  interest: TopicInterest,
  history: WorkerHistory<uWS.WebSocket<object>> | undefined,
) {
  const deliver = (topic: Uint8Array, payload: Uint8Array, isBinary: boolean) => {
    if (interest.stale(topic)) return;
    counters.delivered += 1;
    server.publish(topic, payload, isBinary, compress);
  };
  const notice = history
    ? (kind: number, topic: Uint8Array, body: Uint8Array, isBinary: boolean) => {
        if (kind < HISTORY.PUBLISH) interest.notice(kind, topic);
        else {
          if (kind === HISTORY.MESSAGE) counters.delivered += 1;
          history.frame(kind, topic, body, isBinary);
        }
      }
    : interest.notice;
  return (run: Buffer) => forEachFrame(run, deliver, notice);
}
