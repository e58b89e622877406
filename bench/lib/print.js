/** Human output, autocannon-style. Every function returns a string; the caller decides where it goes. */

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => `│ ${r.map((cell, c) => String(cell).padEnd(widths[c])).join(" │ ")} │`;
  const rule = (l, m, r) => `${l}${widths.map((w) => "─".repeat(w + 2)).join(m)}${r}`;
  return [
    rule("┌", "┬", "┐"),
    line(rows[0]),
    rule("├", "┼", "┤"),
    ...rows.slice(1).map(line),
    rule("└", "┴", "┘"),
  ].join("\n");
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "-";
  const units = ["B", "KiB", "MiB", "GiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatCount(n) {
  return Math.round(n).toLocaleString("en-US");
}

function describeSettings(s) {
  const what =
    s.mode === "idle"
      ? `${formatCount(s.idle)} idle connections`
      : s.mode === "connect"
        ? `${s.connections} connection loops, a new connection per ${s.messageBytes} B exchange`
        : `${s.connections} connections, ${formatBytes(s.messageBytes)} ${s.binary ? "binary" : "text"} messages, ` +
          (s.ratePerSecond > 0 ? `open loop at ${formatCount(s.ratePerSecond)} msgs/s` : `depth ${s.depth}`);
  return `${what}, ${s.durationMs / 1000} s after ${s.warmupMs / 1000} s warm-up, ${s.procs} load process(es)`;
}

/** The whole human report of one run. */
export function printResult(result) {
  const out = [
    `${result.settings.tls ? "wss" : "ws"}://${result.settings.host}:${result.settings.port}${result.settings.path}`,
  ];
  out.push(describeSettings(result.settings), "");
  if (result.mode !== "idle") {
    const l = result.latencyUs;
    out.push(
      table([
        ["Latency", "2.5%", "50%", "97.5%", "99%", "99.9%", "Avg", "Stdev", "Max"],
        ["µs", l.p2_5, l.p50, l.p97_5, l.p99, l.p99_9, l.avg, l.stdev, l.max],
      ]),
    );
    const m = result.msgsPerSecond;
    const b = result.bytesPerSecond;
    out.push(
      table([
        ["Per second", "Avg", "Stdev", "Min", "Max"],
        [
          result.mode === "connect" ? "Handshakes" : "Msgs",
          formatCount(m.avg),
          formatCount(m.stdev),
          formatCount(m.min),
          formatCount(m.max),
        ],
        ["Bytes", formatBytes(b.avg), formatBytes(b.stdev), formatBytes(b.min), formatBytes(b.max)],
      ]),
    );
    out.push(
      `${formatCount(result.messages)} ${result.mode === "connect" ? "exchanges" : "echoes"} in ${result.durationSeconds} s`,
    );
  } else {
    const i = result.idle;
    out.push(
      `${formatCount(i.opened)} of ${formatCount(i.requested)} connections open in ${i.openSeconds} s; ` +
        `watched RSS ${formatBytes(i.serverRssBaselineBytes)} → ${formatBytes(i.serverRssWithConnectionsBytes)}, ` +
        `${i.serverBytesPerConnection === null ? "-" : formatBytes(i.serverBytesPerConnection)} per connection; ` +
        `client RSS ${formatBytes(i.clientRssBytes)}`,
    );
  }
  const e = result.errors;
  out.push(
    `${e.total} errors (${e.connect} connect, ${e.closed} closed, ${e.timeouts} unanswered)${e.lastMessage ? `: last ${e.lastMessage}` : ""}`,
  );
  const c = result.client;
  out.push(
    `client: ${c.procs} process(es), ${c.cpuPercent}% CPU, ${c.cpuUsPerMessage ?? "-"} µs CPU per message` +
      (c.saturated ? " (SATURATED: the client may be the limit)" : ""),
  );
  if (result.watched && result.watched.processes.length > 0) {
    const rows = [["pid", "process", "CPU %", "CPU µs/msg", "RSS start", "RSS max"]];
    for (const p of result.watched.processes) {
      rows.push([
        p.pid,
        p.comm,
        p.cpuPercent,
        result.messages > 0 ? (p.cpuUs / result.messages).toFixed(2) : "-",
        formatBytes(p.rssStartBytes),
        formatBytes(p.rssMaxBytes),
      ]);
    }
    rows.push([
      "all",
      "",
      result.watched.cpuPercent,
      result.serverCpuUsPerMessage ?? "-",
      formatBytes(result.watched.rssStartBytes),
      "",
    ]);
    out.push(table(rows));
  }
  return `${out.join("\n")}\n`;
}

/** One progress line, redrawn in place on a terminal. */
export function printProgress(second, totalSeconds, msgs) {
  const width = 30;
  const done = Math.min(width, Math.round((second / totalSeconds) * width));
  return `\r[${"=".repeat(done)}${" ".repeat(width - done)}] ${second}/${totalSeconds} s  ${formatCount(msgs)} msgs/s `;
}
