/**
 * The control protocol: what a running primary and the one-shot commands (`wsfleet status`, `stop`, `scale`,
 * `restart`, `logs`, `reload`, `reload-cert`) share. HTTP over a unix socket in the primary's runtime directory; the
 * answers are JSON of the shapes below. Both sides import this file; it imports nothing of ours but counters.
 */
import type { BrokerCounts, Counters } from "./counters.js";

/** A primary's runtime directory is `<tmpdir>/wsfleet-<pid>-XXXXXX` (mkdtemp); the pid lets the orphan guard find it. */
export const RUNTIME_DIR_PREFIX = "wsfleet-";
/** In the runtime directory: the primary's pid, for the commands that look for a primary. */
export const PRIMARY_PID_FILE = "primary.pid";
/** In the runtime directory: the control socket (mode 0600). */
export const CONTROL_SOCKET = "control.sock";
/** In the runtime directory: the embedded bus's hub, which every built-in worker connects to (WSFLEET_BUS). */
export const BUS_SOCKET = "bus.sock";

/** The requests the control socket answers, as `METHOD /path`. */
export const CONTROL_REQUESTS = Object.freeze({
  /** → FleetStatus. */
  status: "GET /status",
  /** ?workers=n → FleetStatus once the fleet has n settled workers. */
  scale: "POST /scale",
  /** ?name=<worker>|all → FleetStatus once it is replaced; 404 for an unknown name. */
  restart: "POST /restart",
  /** → {exitCode} once everything has stopped, just before the primary exits. */
  stop: "POST /stop",
  /** ?name=&lines=&follow=1 → text lines. */
  logs: "GET /logs",
  /** → CertificateReloaded, or 409 with an ErrorReport. */
  reloadCertificate: "POST /reload-cert",
  /** → Reloaded once applied: --config re-read and its changes applied, else a rolling restart; 409 ErrorReport. */
  reload: "POST /reload",
  /** → Upgraded once the new primary serves (the old generation then drains and exits); 409 ErrorReport. */
  upgrade: "POST /upgrade",
});

/** How many lines `wsfleet logs` shows unless told (supervisorctl tail shows the last 1600 bytes). */
export const DEFAULT_LOG_LINES = 50;

/** One worker slot: Supervisor's view of its process (`state` is one of supervise/states.ts), its port, its counters. */
export interface WorkerStatus<State extends string = string> {
  name: string;
  state: State;
  pid: number | undefined;
  restarts: number;
  startedAt: number | undefined;
  port: number;
  /** The latest counters the worker reported (built-in workers, once a second). */
  counters: Counters | undefined;
}

export interface BalancerStatus {
  pid: number | undefined;
  state: string;
  restarts: number;
  /** Server name → HAProxy's operational state (UP, DOWN...), with its admin state when not READY (DRAIN, MAINT). */
  servers: Record<string, string>;
}

/** The embedded bus's hub, for `wsfleet status` and /metrics. */
export interface HubStatus {
  /** Workers connected to the hub now. */
  workers: number;
  /** Publishes that came in from workers. */
  forwarded: number;
  /** Distinct topics some worker serves (has a subscriber for). */
  topics: number;
  /** Copies of publishes written to workers serving their topic. */
  sent: number;
  /** Copies not written: a worker connected but not serving the topic (topic routing). */
  skipped: number;
  /** Publishes a worker could not be given because it had too much of the bus queued and unread. */
  dropped: number;
  /** --history: what the embedded sequencer keeps and has done. */
  history?: HistoryStatus | undefined;
}

/** --history's size (bounded: --history messages a topic, idle topics dropped after --history-ttl) and counts. */
export interface HistoryStatus {
  /** Topics with a history now. */
  topics: number;
  /** Messages kept, over every topic. */
  messages: number;
  /** Their payloads' bytes. */
  bytes: number;
  /** Publishes given an offset. */
  sequenced: number;
  /** Recoveries answered with every message asked for. */
  recovered: number;
  /** Recoveries refused (another epoch, too old, a future or malformed offset): the client must resync. */
  notRecovered: number;
  /** Topics dropped by --history-ttl. */
  expired: number;
  /** With --broker: publishes sequenced by this primary while Redis was unreachable (they reached this fleet only). */
  sequencedLocally?: number;
  /** With --broker: messages missing from the broker's live stream (a jump in offsets) the store no longer had: lost. */
  lostOnPubSub?: number;
  /** With --broker: messages missing from the broker's live stream, read from the store and forwarded in order. */
  filledFromStore?: number;
}

export interface BrokerStatus extends BrokerCounts {
  /** The --broker URL, password hidden. */
  url: string;
  /** The channel of a topic, `wsfleet:<name>:<topic>` (a channel per topic). */
  channel: string;
  /** The primary's own connection; with workers on Redis themselves (no --history), each worker has its own too. */
  state: "connected" | "reconnecting";
}

interface BusStatus extends HubStatus {
  broker: BrokerStatus | undefined;
}

/** What `wsfleet status` shows: the primary, every worker slot, and HAProxy when it runs one. */
export interface FleetStatus {
  pid: number;
  startedAt: string;
  workers: WorkerStatus[];
  haproxy: BalancerStatus | undefined;
  /** The embedded bus (built-in workers), and the broker with --broker. */
  bus: BusStatus | undefined;
  /** --max-conns-per-ip / --handshake-rate, and who enforces them; undefined without them. */
  addressLimits?: AddressLimitsStatus | undefined;
  /** With --config: the last `wsfleet reload` (or SIGHUP), what it changed or why it was refused. */
  lastReload?: LastReload | undefined;
}

/** The per-address limits as `wsfleet status` shows them. */
export interface AddressLimitsStatus {
  maxConnsPerIp: number | undefined;
  handshakeRatePerSec: number | undefined;
  /** HAProxy's stick table (--haproxy), or the primary's ledger that every built-in worker asks. */
  enforcedBy: "haproxy" | "ledger";
  /** Client addresses the ledger holds an entry for (ledger only). */
  trackedAddresses?: number;
}

/** A re-read of --config: when, which file, the changes applied ("workers "3" → "5" (scaled)"), or the refusal. */
export interface LastReload {
  at: string;
  file: string;
  changes: string[];
  refused: string | undefined;
}

/** What `wsfleet upgrade` prints: the new primary's pid, and what the old generation does now. */
export interface Upgraded {
  pid: number;
  message: string;
}

/** What `wsfleet reload` prints once the primary has applied it. */
export interface Reloaded {
  message: string;
}

/** What `wsfleet reload-cert` prints: which certificate now serves, and how. */
export interface CertificateReloaded {
  serial: string;
  message: string;
}

/** A refusal the primary reports as one of the error catalogue's, so the command exits with its code. */
export interface ErrorReport {
  code: string;
  message: string;
  exitCode: number;
}
