/** Scenarios about sizes: many idle connections, directly and through HAProxy, and the open-files limit. */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { haproxyConnectionsFor } from "../../../dist/haproxy/model.js";
import { connect, roundTrip } from "../../helpers/clients.js";
import { eventually, PRIMARY, startPrimary, TIMEOUT_FACTOR } from "../../helpers/fleet.js";
import { startHaproxyFleet } from "../../helpers/haproxy.js";
import { freePortRange } from "../../helpers/ports.js";
import { checked, recordFigures, rssBytes } from "./figures.js";
import { runningWorkers } from "./fleet-state.js";

const IDLE_CLIENT = fileURLToPath(new URL("./idle-client.js", import.meta.url));

/** This process's soft open-files limit; the fleet and the client processes inherit it. */
export function openFilesLimit() {
  const line = readFileSync("/proc/self/limits", "utf8")
    .split("\n")
    .find((each) => each.startsWith("Max open files"));
  return Number(line.split(/\s{2,}/)[1]);
}

/** `total` idle connections held by `processes` child processes; resolves once all have tried. */
async function holdIdle(t, { ports, total, processes, localAddresses }) {
  const children = [];
  const results = [];
  for (let index = 0; index < processes; index += 1) {
    const count = Math.floor(total / processes) + (index < total % processes ? 1 : 0);
    const spec = {
      ports,
      host: "127.0.0.1",
      count,
      localAddresses: localAddresses.slice(index % localAddresses.length).concat(localAddresses),
    };
    const child = spawn(process.execPath, [IDLE_CLIENT, JSON.stringify(spec)], { stdio: ["pipe", "pipe", "inherit"] });
    t.after(() => child.kill("SIGKILL"));
    children.push(child);
    child.stdout.setEncoding("utf8");
    results.push(once(child.stdout, "data").then(([line]) => JSON.parse(line)));
  }
  const reports = await Promise.all(results);
  return {
    opened: reports.reduce((sum, each) => sum + each.opened, 0),
    failed: reports.reduce((sum, each) => sum + each.failed, 0),
    errors: [...new Set(reports.map((each) => each.lastError).filter(Boolean))],
    async release() {
      for (const child of children) child.stdin.end();
      await Promise.all(children.map((child) => (child.exitCode === null ? once(child, "exit") : undefined)));
    },
  };
}

function sumRss(pids) {
  return pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
}

async function stillEchoes(url) {
  const ws = await connect(url, 10_000);
  const { data } = await roundTrip(ws, "still here?", false);
  ws.close();
  return data.toString() === "still here?";
}

/** `total` idle connections straight to the workers, from several 127.0.0.x source addresses. */
export async function manyDirect(t, key, { workers = 4, total = 20_000, processes = 4, sources = 4 }) {
  const base = await freePortRange(workers);
  const args = [
    "--workers",
    String(workers),
    "--base-port",
    String(base),
    "--host",
    "127.0.0.1",
    "--start-secs",
    "0.2",
  ];
  // Idle connections that never answer pings: the idle timeout is off so the count holds still while it is measured.
  const primary = startPrimary(t, [...args, "--idle-timeout", "0"]);
  await primary.waitForRunning(workers);
  const pids = runningWorkers(primary).map((each) => each.pid);
  const rssBefore = sumRss(pids);
  const ports = Array.from({ length: workers }, (_, index) => base + index);
  const localAddresses = Array.from({ length: sources }, (_, index) => `127.0.0.${index + 2}`);
  const startedAt = Date.now();
  const held = await holdIdle(t, { ports, total, processes, localAddresses });
  const openSecs = (Date.now() - startedAt) / 1000;
  const rssAfter = sumRss(pids);
  const echoes = await stillEchoes(`ws://127.0.0.1:${base}/`);
  await held.release();
  recordFigures(key, {
    title: "Many connections, directly to the workers",
    what: `${workers} built-in workers, ${total.toLocaleString("en")} idle WebSocket connections from ${processes} client processes and source addresses ${localAddresses.join(", ")}.`,
    figures: {
      "connections open": held.opened,
      failed: held.failed,
      "time to open them, s": openSecs,
      "worker memory per connection, bytes": held.opened ? Math.round((rssAfter - rssBefore) / held.opened) : null,
      "workers' RSS before → after, MiB": `${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssAfter / 2 ** 20).toFixed(0)}`,
      "a new client still echoes": echoes,
    },
    notes: held.errors.length ? [`errors: ${held.errors.join("; ")}`] : [],
  });
  await checked(key, () => {
    assert.equal(held.opened, total, held.errors.join("; "));
    assert.ok(echoes);
  });
}

/** As many idle connections through HAProxy as the open-files limit lets it hold. */
export async function manyThroughHaproxy(
  t,
  key,
  { workers = 2, processes = 2, margin = 100, cap = Number.POSITIVE_INFINITY },
) {
  const limit = openFilesLimit();
  const total = Math.min(cap, haproxyConnectionsFor(limit) - margin);
  const fleet = await startHaproxyFleet(t, workers, ["--idle-timeout", "0"]);
  const haproxyPid = fleet.started.pid;
  const workerPids = runningWorkers(fleet.primary).map((each) => each.pid);
  const [haproxyBefore, workersBefore] = [rssBytes(haproxyPid), sumRss(workerPids)];
  const startedAt = Date.now();
  const held = await holdIdle(t, {
    ports: [fleet.frontendPort],
    total,
    processes,
    localAddresses: ["127.0.0.2", "127.0.0.3"],
  });
  const openSecs = (Date.now() - startedAt) / 1000;
  const [haproxyAfter, workersAfter] = [rssBytes(haproxyPid), sumRss(workerPids)];
  const echoes = await stillEchoes(fleet.url);
  await held.release();
  recordFigures(key, {
    title: "Many connections through HAProxy",
    what: `--haproxy, ${workers} workers; open-files limit ${limit}, so HAProxy holds about ${haproxyConnectionsFor(limit)} connections (two descriptors each); ${total.toLocaleString("en")} idle connections (that less a margin of ${margin} for checks and the test's own client).`,
    figures: {
      "connections open": held.opened,
      failed: held.failed,
      "time to open them, s": openSecs,
      "HAProxy memory per connection, bytes": held.opened
        ? Math.round((haproxyAfter - haproxyBefore) / held.opened)
        : null,
      "worker memory per connection, bytes": held.opened
        ? Math.round((workersAfter - workersBefore) / held.opened)
        : null,
      "a new client still echoes": echoes,
    },
    notes: held.errors.length ? [`errors: ${held.errors.join("; ")}`] : [],
  });
  await checked(key, () => {
    assert.equal(held.opened, total, held.errors.join("; "));
    assert.ok(echoes);
  });
}

/** The primary, started with `ulimit -n 1024`, says HAProxy cannot hold its maxconn and what to do. */
export async function lowOpenFilesWarning(t, key) {
  const base = await freePortRange(3);
  const command = `ulimit -n 1024 && exec "${process.execPath}" "${PRIMARY}" --log-format json --workers 1 --base-port ${base} --host 127.0.0.1 --haproxy --frontend-host 127.0.0.1 --frontend-port ${base + 1}`;
  const child = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "pipe", "ignore"] });
  t.after(() => child.kill("SIGKILL"));
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  const warned = await eventually(() => output.includes('"open-files-limit"'), 10_000);
  child.kill("SIGTERM");
  await Promise.race([once(child, "exit"), new Promise((resolve) => setTimeout(resolve, 15_000 * TIMEOUT_FACTOR))]);
  const line = output.split("\n").find((each) => each.includes('"open-files-limit"'));
  const message = line ? JSON.parse(line).message : undefined;
  recordFigures(key, {
    title: "Open-files limit too low for HAProxy's maxconn",
    what: "`ulimit -n 1024`, then `wsfleet --haproxy`: the primary's first lines.",
    figures: { warned: warned },
    notes: message ? [`\`${message}\``] : [],
  });
  await checked(key, () => {
    assert.ok(warned, "the primary warned");
    assert.match(message, /ulimit -n\) is 1024: HAProxy can hold only about 498 connections/);
  });
}
