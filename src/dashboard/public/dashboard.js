// The wsfleet dashboard: rows and charts from the primary's server-sent events, once a second.
/* global uPlot */
const TOKEN_KEY = "wsfleet-dashboard-token";
const byId = (id) => document.getElementById(id);

function duration(ms) {
  if (ms === null) return "-";
  const seconds = Math.floor(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = String(Math.floor((seconds % 3600) / 60)).padStart(2, "0");
  const s = String(seconds % 60).padStart(2, "0");
  return `${h}:${m}:${s}`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "-" : String(text);
  if (className) td.className = className;
  return td;
}

function renderRows(frame) {
  const servers = frame.haproxy?.servers ?? {};
  const rows = frame.workers.map((worker) => {
    const tr = document.createElement("tr");
    tr.dataset.worker = worker.name;
    tr.append(
      cell(worker.name),
      cell(worker.state, `state-${worker.state}`),
      cell(worker.pid, "num pid"),
      cell(worker.port, "num"),
      cell(duration(worker.uptimeMs), "num"),
      cell(worker.restarts, "num restarts"),
      cell(worker.connections, "num"),
      cell(worker.messagesPerSec, "num rate"),
      cell(servers[worker.name] ?? "-"),
    );
    return tr;
  });
  if (frame.haproxy) {
    const { haproxy } = frame;
    const tr = document.createElement("tr");
    tr.dataset.worker = "haproxy";
    tr.append(
      cell("haproxy"),
      cell(haproxy.state, `state-${haproxy.state}`),
      cell(haproxy.pid, "num pid"),
      cell("-", "num"),
      cell("-", "num"),
      cell(haproxy.restarts, "num restarts"),
      cell("-", "num"),
      cell("-", "num"),
      cell("-"),
    );
    rows.push(tr);
  }
  byId("rows").replaceChildren(...rows);
  const running = frame.workers.filter((worker) => worker.state === "RUNNING").length;
  const plural = (count, noun) => `${count} ${noun}${count === 1 ? "" : "s"}`;
  byId("summary").textContent =
    `${running}/${plural(frame.workers.length, "worker")} running · ${plural(frame.connections, "connection")} · ${frame.messagesPerSec} messages/s${refusedText(frame.refused)}`;
}

/** " · refused: origin 3, conns-per-ip 10", or nothing when no handshake was refused. */
function refusedText(refused = {}) {
  const parts = Object.entries(refused)
    .filter(([, count]) => count > 0)
    .map(([reason, count]) => `${reason} ${count}`);
  return parts.length > 0 ? ` · refused: ${parts.join(", ")}` : "";
}

function chart(id, label, stroke, data) {
  const width = Math.max(300, byId(id).clientWidth);
  const options = {
    width,
    height: 220,
    series: [{}, { label, stroke, width: 2, fill: `${stroke}22`, points: { show: false } }],
    scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
    legend: { show: false },
  };
  return new uPlot(options, data, byId(id));
}

function start(token) {
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  const events = new EventSource(`events${query}`);
  const history = { times: [], connections: [], messagesPerSec: [] };
  let charts;
  const redraw = () => {
    charts ??= [
      chart("chart-connections", "connections", "#2f6fde", [history.times, history.connections]),
      chart("chart-messages", "messages/s", "#d9480f", [history.times, history.messagesPerSec]),
    ];
    charts[0].setData([history.times, history.connections]);
    charts[1].setData([history.times, history.messagesPerSec]);
  };
  events.addEventListener("history", (event) => {
    const data = JSON.parse(event.data);
    document.title = `wsfleet · primary ${data.pid}`;
    Object.assign(history, { times: data.times, connections: data.connections, messagesPerSec: data.messagesPerSec });
    byId("main").hidden = false;
    redraw();
  });
  events.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    renderRows(frame);
    history.times.push(frame.time / 1000);
    history.connections.push(frame.connections);
    history.messagesPerSec.push(frame.messagesPerSec);
    while (history.times.length > 300) {
      history.times.shift();
      history.connections.shift();
      history.messagesPerSec.shift();
    }
    redraw();
  };
  events.onopen = () => byId("live").classList.add("on");
  events.onerror = () => byId("live").classList.remove("on");
}

async function main() {
  const token = sessionStorage.getItem(TOKEN_KEY) ?? "";
  const auth = await fetch("auth", { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (auth.ok) {
    start(token);
    return;
  }
  const form = byId("token-form");
  form.hidden = false;
  byId("summary").textContent = "token required";
  if (token) byId("token-error").textContent = "that token was not accepted";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, byId("token").value);
    location.reload();
  });
}

main();
