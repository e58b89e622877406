import { processName } from "../../dist/protocol/naming.js";

/** The guide's supervisord program; its processes, and HAProxy's servers, are named `<program>_NN`. */
const PROGRAM_NAME = "websockets-test";

/**
 * The guide's haproxy.cfg ("Deploy behind HAProxy", examples/haproxy.cfg) for N servers on consecutive ports and a
 * frontend port of our choice (pure). The ports are the only change; HAProxy derives maxconn from `ulimit -n`.
 */
export function renderGuideHaproxyConfig({ frontendPort, basePort, workers }) {
  const servers = Array.from(
    { length: workers },
    (_, i) => `    server ${processName(PROGRAM_NAME, i)} localhost:${basePort + i}`,
  );
  return [
    "defaults",
    "    mode http",
    "    timeout connect 10s",
    "    timeout client 30s",
    "    timeout server 30s",
    "",
    "frontend websocket",
    `    bind localhost:${frontendPort}`,
    "    default_backend websocket",
    "",
    "backend websocket",
    "    balance leastconn",
    ...servers,
    "",
  ].join("\n");
}

/** The guide's supervisord.conf, with numprocs and numprocs_start so app.py's ports (8000 + NN) are free ones. */
export function renderSupervisordConfig({ dir, command, workers, firstProcessNumber }) {
  return [
    "[supervisord]",
    `logfile = ${dir}/supervisord.log`,
    `pidfile = ${dir}/supervisord.pid`,
    `childlogdir = ${dir}`,
    "",
    `[program:${PROGRAM_NAME}]`,
    `command = ${command}`,
    "process_name = %(program_name)s_%(process_num)02d",
    `numprocs = ${workers}`,
    `numprocs_start = ${firstProcessNumber}`,
    "autorestart = true",
    "",
  ].join("\n");
}
