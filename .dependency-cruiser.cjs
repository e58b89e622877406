/**
 * The import rules of src/ (docs/ARCHITECTURE.md: one folder a part, each with one job): arrows point one way, and
 * lint fails on one that does not. Parsed with swc: TypeScript 7 has no JavaScript compiler API for the default parser.
 */
const WORKER_SIDE = "^src/(worker|apps|api)/";
const PURE_FILES = [
  "^src/supervise/(states|restart-policy)[.]ts$",
  "^src/config/(settings|parsers|validate|values|admission)[.]ts$",
  "^src/admission/(origin|refusals|authorize|gate|address-ledger|ledger-wire|refusal-log)[.]ts$",
  "^src/config-file/parse[.]ts$",
  "^src/reload/plan[.]ts$",
  "^src/upgrade/handover[.]ts$",
  "^src/haproxy/(model|config)[.]ts$",
  "^src/protocol/naming[.]ts$",
  "^src/cli/unit-file[.]ts$",
  "^src/primary/(started|http-listeners|start-warnings)[.]ts$",
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
      { path: "^src/(supervise|config|cli|primary|fleet|haproxy|bus|metrics|dashboard)/" },
    ),
    forbid(
      "haproxy-does-not-know-the-fleet",
      "haproxy/ implements the fleet's LoadBalancer interface without importing fleet/; primary/ wires them.",
      { path: "^src/haproxy/" },
      { path: "^src/(fleet|cli|primary|bus)/" },
    ),
    forbid(
      "dashboard-and-metrics-render-what-they-are-handed",
      "dashboard/ and metrics/ render the statuses of protocol/control.ts; primary/ wires them to the fleet and HAProxy.",
      { path: "^src/(dashboard|metrics)/" },
      { path: "^src/(cli|primary|fleet|haproxy|bus)/" },
    ),
    forbid(
      "fleet-does-not-know-haproxy",
      "fleet/ talks to a load balancer through its own interface, never to haproxy/, the bus or the primary.",
      { path: "^src/fleet/" },
      { path: "^src/(haproxy|cli|primary|bus)/" },
    ),
    forbid(
      "supervise-knows-no-websockets",
      "supervise/ runs any program; it knows nothing of workers, their protocol, HAProxy or the CLI.",
      { path: "^src/supervise/" },
      { path: "^src/(fleet|haproxy|cli|primary|bus|worker|apps|api|protocol|config|metrics|dashboard|tls)/" },
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
      { path: "^src/(supervise|fleet|haproxy|cli|primary|bus|worker|apps|metrics|dashboard|net|tls)/" },
    ),
    forbid(
      "config-file-reads-into-the-settings-table",
      "config-file/ reads --config into the raw options of config/; it knows no part that runs them.",
      { path: "^src/config-file/" },
      { path: "^src/", pathNot: "^src/(config/|config-file/|errors[.]ts$)" },
    ),
    forbid(
      "reload-plans-and-is-told-how",
      "reload/ plans a config change and applies it through the functions it is handed; primary/ wires it to the fleet.",
      { path: "^src/reload/" },
      { path: "^src/(fleet|haproxy|cli|primary|bus|supervise|worker|apps|metrics|dashboard|net|tls)/" },
    ),
    forbid(
      "upgrade-starts-a-primary-and-knows-no-parts",
      "upgrade/ starts the next primary and says what the generations share; primary/ wires it to the fleet and HAProxy.",
      { path: "^src/upgrade/" },
      { path: "^src/(fleet|haproxy|cli|primary|bus|supervise|worker|apps|metrics|dashboard|net|tls|reload)/" },
    ),
    forbid(
      "commands-know-only-the-protocol",
      "cli/ (the commands that ask a running primary, the client, the generators) never imports the running parts: it talks to them over protocol/control.ts.",
      { path: "^src/cli/" },
      { path: "^src/(fleet|bus|supervise|primary|worker|apps|dashboard|metrics)/" },
    ),
    forbid(
      "generators-use-the-pure-haproxy-model",
      "haproxy-config and systemd-unit render from haproxy/model and haproxy/config (pure); the rest of haproxy/ runs HAProxy.",
      { path: "^src/cli/" },
      { path: "^src/haproxy/", pathNot: "^src/haproxy/(model|config)[.]ts$" },
    ),
    forbid(
      "the-primary-is-not-a-command",
      "primary/ is the running primary; the one-shot commands of cli/ and the worker side are other programs.",
      { path: "^src/primary/" },
      { path: "^src/(cli|worker|apps)/" },
    ),
    forbid(
      "bus-moves-frames-only",
      "bus/ (the hub) moves the publish frames of protocol/; it knows no fleet, HAProxy, config or worker (net/'s private unix socket is plumbing).",
      { path: "^src/bus/" },
      { path: "^src/(fleet|haproxy|cli|primary|worker|apps|api|supervise|config|metrics|dashboard|tls)/" },
    ),
    forbid(
      "broker-is-redis-pub-sub-only",
      "broker/ (Redis pub/sub, for each worker and, with --history, the primary's hub) carries protocol/ frames; it knows no fleet, HAProxy, config, worker or hub beyond the hub's uplink interface.",
      { path: "^src/broker/" },
      { path: "^src/(fleet|haproxy|cli|primary|worker|apps|api|supervise|config|metrics|dashboard|tls|history)/" },
    ),
    forbid(
      "history-is-the-sequencer-and-recovery",
      "history/ (the stores, the hub's sequencers, the worker's recovery) uses protocol/ frames (and the Redis store the broker's pub/sub flavours), nothing else of ours: bus/ and worker/ hand it its sockets.",
      { path: "^src/history/" },
      { path: "^src/", pathNot: "^src/(history/|protocol/|broker/redis-(cluster-)?broker[.]ts$)" },
    ),
    forbid(
      "admission-decides-who-may-connect",
      "admission/ (Origin, limits, authorize, the per-address ledger) is used by the worker and the primary alike; it knows neither.",
      { path: "^src/admission/" },
      { path: "^src/(fleet|haproxy|cli|primary|worker|apps|supervise|config|metrics|dashboard|bus|tls)/" },
    ),
    forbid(
      "net-is-plumbing",
      "net/ (port checks, listen addresses, the small HTTP server) imports nothing of ours but the error catalogue.",
      { path: "^src/net/" },
      { path: "^src/", pathNot: "^src/(net/|errors[.]ts$)" },
    ),
    forbid(
      "log-is-a-leaf",
      "log/ formats and keeps lines; anything may log, so it imports nothing of ours.",
      { path: "^src/log/" },
      { path: "^src/", pathNot: "^src/log/" },
    ),
    forbid(
      "tls-checks-files-only",
      "tls/ reads and checks certificate files; who serves them (HAProxy, the workers) is the primary's business.",
      { path: "^src/tls/" },
      { path: "^src/(fleet|haproxy|cli|primary|bus|worker|apps|supervise|metrics|dashboard|net)/" },
    ),
    forbid(
      "errors-is-a-leaf",
      "The error catalogue is imported from everywhere, so it imports nothing.",
      { path: "^src/errors[.]ts$" },
      { path: "^src/" },
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
