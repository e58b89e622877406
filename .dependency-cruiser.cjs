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
  "^src/tls/pem[.]ts$",
];

module.exports = {
  forbidden: [
    {
      name: "worker-side-stays-out-of-the-primary",
      comment:
        "The built-in worker (worker/, apps/, api/) never imports supervision, config, fleet, haproxy or CLI code.",
      severity: "error",
      from: { path: WORKER_SIDE },
      to: { path: "^src/(supervise|config|cli|fleet|haproxy|metrics)/" },
    },
    {
      name: "haproxy-does-not-know-the-fleet",
      comment:
        "haproxy/ implements the fleet's LoadBalancer interface without importing fleet/ or cli/; cli/ wires them.",
      severity: "error",
      from: { path: "^src/haproxy/" },
      to: { path: "^src/(fleet|cli)/" },
    },
    {
      name: "fleet-does-not-know-haproxy",
      comment: "fleet/ talks to a load balancer through its own interface, never to haproxy/ or cli/.",
      severity: "error",
      from: { path: "^src/fleet/" },
      to: { path: "^src/(haproxy|cli)/" },
    },
    {
      name: "supervise-knows-no-websockets",
      comment: "supervise/ runs any program; it knows nothing of workers, their protocol, HAProxy or the CLI.",
      severity: "error",
      from: { path: "^src/supervise/" },
      to: { path: "^src/(fleet|haproxy|cli|worker|apps|api|protocol|config|metrics)/" },
    },
    {
      name: "protocol-imports-nothing-of-ours",
      comment: "protocol/ is shared by the primary and the worker: it imports only itself.",
      severity: "error",
      from: { path: "^src/protocol/" },
      to: { path: "^src/", pathNot: "^src/protocol/" },
    },
    {
      name: "config-is-pure",
      comment: "config/ validates without I/O and knows no part that receives its slices.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/(supervise|fleet|haproxy|cli|worker|apps|metrics|net)/" },
    },
    {
      name: "states-is-a-leaf",
      comment: "Supervisor's states.py imports nothing; neither does ours.",
      severity: "error",
      from: { path: "^src/supervise/states[.]ts$" },
      to: {},
    },
    {
      name: "pure-files-touch-no-processes-sockets-files-or-timers",
      comment:
        "Restart policy, states, the config table and parsers, HAProxy model and render, naming: pure functions.",
      severity: "error",
      from: { path: PURE_FILES },
      to: {
        dependencyTypes: ["core"],
        path: "^(node:)?(child_process|cluster|dgram|dns|fs|fs/promises|http|http2|https|net|os|process|readline|timers|timers/promises|tls|worker_threads)$",
      },
    },
    {
      name: "src-never-imports-bench",
      comment: "bench/ measures wsfleet; wsfleet never depends on it.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^bench/" },
    },
    {
      name: "no-circular",
      comment: "A cycle means two files are one concept, or an arrow points the wrong way.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};
