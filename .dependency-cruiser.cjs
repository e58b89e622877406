/**
 * The import rules of src/ (STYLE.md, "The folder layout is the architecture"): arrows point one way, and lint
 * fails on one that does not. Parsed with swc: TypeScript 7 has no JavaScript compiler API for the default parser.
 */
const WORKER_SIDE = "^src/(worker|apps|api)/";
const PURE_FILES = [
  "^src/supervise/(states|restart-policy)[.]ts$",
  "^src/config/(settings|parsers|validate)[.]ts$",
  "^src/haproxy/(model|config)[.]ts$",
  "^src/protocol/naming[.]ts$",
  "^src/cli/unit-file[.]ts$",
  "^src/tls/pem[.]ts$",
];

/** One forbidden arrow: from files matching `from` to files matching `to` (dependency-cruiser's rule shape). */
function forbid(name, comment, from, to) {
  return { name, comment, severity: "error", from, to };
}

module.exports = {
  forbidden: [
    forbid(
      "worker-side-stays-out-of-the-primary",
      "The built-in worker (worker/, apps/, api/) never imports supervision, config, fleet, haproxy or CLI code.",
      { path: WORKER_SIDE },
      { path: "^src/(supervise|config|cli|fleet|haproxy|metrics|dashboard)/" },
    ),
    forbid(
      "haproxy-does-not-know-the-fleet",
      "haproxy/ implements the fleet's LoadBalancer interface without importing fleet/ or cli/; cli/ wires them.",
      { path: "^src/haproxy/" },
      { path: "^src/(fleet|cli)/" },
    ),
    forbid(
      "dashboard-and-metrics-do-not-know-the-cli",
      "dashboard/ and metrics/ render the statuses they are handed; cli/ wires them to the fleet and HAProxy.",
      { path: "^src/(dashboard|metrics)/" },
      { path: "^src/cli/" },
    ),
    forbid(
      "fleet-does-not-know-haproxy",
      "fleet/ talks to a load balancer through its own interface, never to haproxy/ or cli/.",
      { path: "^src/fleet/" },
      { path: "^src/(haproxy|cli)/" },
    ),
    forbid(
      "supervise-knows-no-websockets",
      "supervise/ runs any program; it knows nothing of workers, their protocol, HAProxy or the CLI.",
      { path: "^src/supervise/" },
      { path: "^src/(fleet|haproxy|cli|worker|apps|api|protocol|config|metrics)/" },
    ),
    forbid(
      "protocol-imports-nothing-of-ours",
      "protocol/ is shared by the primary and the worker: it imports only itself.",
      { path: "^src/protocol/" },
      { path: "^src/", pathNot: "^src/protocol/" },
    ),
    forbid(
      "config-is-pure",
      "config/ validates without I/O and knows no part that receives its slices.",
      { path: "^src/config/" },
      { path: "^src/(supervise|fleet|haproxy|cli|worker|apps|metrics|net)/" },
    ),
    forbid(
      "states-is-a-leaf",
      "Supervisor's states.py imports nothing; neither does ours.",
      { path: "^src/supervise/states[.]ts$" },
      {},
    ),
    forbid(
      "pure-files-touch-no-processes-sockets-files-or-timers",
      "Restart policy, states, the config table and parsers, HAProxy model and render, naming: pure functions.",
      { path: PURE_FILES },
      {
        dependencyTypes: ["core"],
        path: "^(node:)?(child_process|cluster|dgram|dns|fs|fs/promises|http|http2|https|net|os|process|readline|timers|timers/promises|tls|worker_threads)$",
      },
    ),
    forbid(
      "src-never-imports-bench",
      "bench/ measures wsfleet; wsfleet never depends on it.",
      { path: "^src/" },
      { path: "^bench/" },
    ),
    forbid(
      "no-circular",
      "A cycle means two files are one concept, or an arrow points the wrong way.",
      {},
      { circular: true },
    ),
  ],
  options: {
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
