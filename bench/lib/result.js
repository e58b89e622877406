/** Combines the partial results of the load processes into one report object (pure). */
import { addSamples, round, summarizeLatency, summarizeSamples } from "./stats.js";

const CLIENT_NAMES = { c: "cload", node: "load.js", "node-floor": "node floor" };

/**
 * partials: [{ histogram, secondMsgs, secondBytes, msgs, bytes, cpuUs, measuredMs, errors, connectionsOpened }],
 * histograms already merged into `histogram`; watched: ProcessWatch.report() or null.
 */
export function buildResult({ settings, partials, histogram, watched, parentCpuUs = 0 }) {
  const msgs = partials.reduce((a, p) => a + p.msgs, 0);
  const bytes = partials.reduce((a, p) => a + p.bytes, 0);
  const measuredMs = Math.max(...partials.map((p) => p.measuredMs));
  const clientCpuUs = partials.reduce((a, p) => a + p.cpuUs, 0) + parentCpuUs;
  const errors = { connect: 0, closed: 0, timeouts: 0, lastMessage: "" };
  for (const p of partials) {
    errors.connect += p.errors.connect;
    errors.closed += p.errors.closed;
    errors.timeouts += p.errors.timeouts;
    if (p.errors.lastMessage) errors.lastMessage = p.errors.lastMessage;
  }
  errors.total = errors.connect + errors.closed + errors.timeouts;
  const seconds = measuredMs / 1000;
  const result = {
    settings,
    mode: partials[0].mode,
    durationSeconds: round(seconds, 3),
    connectionsOpened: partials.reduce((a, p) => a + p.connectionsOpened, 0),
    messages: msgs,
    latencyUs: summarizeLatency(histogram),
    msgsPerSecond: summarizeSamples(addSamples(partials.map((p) => p.secondMsgs))),
    bytesPerSecond: summarizeSamples(addSamples(partials.map((p) => p.secondBytes))),
    msgsPerSecondOverall: seconds > 0 ? Math.round(msgs / seconds) : 0,
    bytesReceived: bytes,
    errors,
    client: {
      name: CLIENT_NAMES[settings.client] ?? "load.js",
      procs: partials.length,
      cpuUs: Math.round(clientCpuUs),
      cpuPercent: round((clientCpuUs / (measuredMs * 1000)) * 100, 1),
      // Kernel time: on loopback the sender's write() also runs the receiving side of TCP.
      cpuSystemUs: partials.reduce((a, p) => a + (p.cpuSystemUs ?? 0), 0),
      cpuUsPerMessage: msgs > 0 ? round(clientCpuUs / msgs, 3) : null,
      cpuUserUsPerMessage:
        msgs > 0 ? round(partials.reduce((a, p) => a + p.cpuUs - (p.cpuSystemUs ?? 0), 0) / msgs, 3) : null,
      // One core per load process: above 90 % of that, the client, not the server, was probably the limit.
      // (not for idle rows: their CPU includes opening the connections, outside the measured window)
      saturated: partials[0].mode !== "idle" && clientCpuUs / (measuredMs * 1000) > 0.9 * partials.length,
    },
    watched: watched ?? null,
    serverCpuUsPerMessage: watched && msgs > 0 ? round(watched.cpuUs / msgs, 3) : null,
  };
  if (result.mode === "connect") result.handshakesPerSecond = result.msgsPerSecondOverall;
  if (result.mode === "idle") {
    const rssAfter = watched ? watched.rssStartBytes : 0;
    const base = watched?.rssBaselineBytes ?? rssAfter;
    result.idle = {
      requested: settings.idle,
      opened: result.connectionsOpened,
      openSeconds: round(Math.max(...partials.map((p) => p.openMs ?? 0)) / 1000, 2),
      serverRssBaselineBytes: base,
      serverRssWithConnectionsBytes: rssAfter,
      serverBytesPerConnection:
        result.connectionsOpened > 0 ? Math.round((rssAfter - base) / result.connectionsOpened) : null,
      clientRssBytes: partials.reduce((a, p) => a + (p.clientRssBytes ?? 0), 0),
    };
  }
  return result;
}
