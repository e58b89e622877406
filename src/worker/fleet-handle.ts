import type uWS from "uWebSockets.js";
import type { Fleet } from "../api/types.js";
import { encodeFrame, forEachFrame } from "../protocol/bus-frames.js";
import type { Counters } from "../protocol/counters.js";
import type { BusClient } from "./bus-client.js";
import type { TopicInterest } from "./topic-interest.js";

/**
 * `fleet.publish`: this worker's subscribers through uWebSockets.js' own `app.publish` (no round trip), the other
 * workers (and, through the primary, other hosts) through the bus.
 */
export function createFleetHandle(
  server: uWS.TemplatedApp,
  bus: BusClient | undefined,
  workerName: string,
  counters: Counters,
  compress: boolean,
  interest: TopicInterest,
): Fleet {
  return {
    workerName,
    publish(topic, message, isBinary = false) {
      counters.published += 1;
      // Only what another worker or host serves leaves the worker (topic routing).
      if (bus && !interest.mustLeave(topic)) counters.kept += 1;
      else if (bus && !bus.send(encodeFrame(topic, message, isBinary))) counters.dropped += 1;
      server.publish(topic, message, isBinary, compress);
    },
  };
}

/** Publishes from the bus to this worker's subscribers; the frames' bytes are views, used before this returns. */
export function deliverFromBus(
  server: uWS.TemplatedApp,
  counters: Counters,
  compress: boolean,
  interest: TopicInterest,
) {
  const deliver = (topic: Uint8Array, payload: Uint8Array, isBinary: boolean) => {
    if (interest.stale(topic)) return;
    counters.delivered += 1;
    server.publish(topic, payload, isBinary, compress);
  };
  return (run: Buffer) => forEachFrame(run, deliver, interest.notice);
}
