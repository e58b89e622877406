import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { HaproxyOptions, SupervisionOptions } from "../config/validate.js";
import type { Logger } from "../log/logger.js";
import { assertResolves, listenAddresses } from "../net/listen-addresses.js";
import { assertPortFree } from "../net/port-check.js";
import type { BalancerStatus } from "../protocol/control.js";
import type { Clock } from "../supervise/clock.js";
import type { ProcessGroupWatcher } from "../supervise/process-group.js";
import { restartPolicyWith } from "../supervise/restart-policy.js";
import type { SupervisedProcess } from "../supervise/supervised-process.js";
import { checkConfigFile, resolveHaproxyBinary } from "./check.js";
import { formatAddress, renderConfig, serverCheckArguments } from "./config.js";
import {
  type AddressLimitsModel,
  GUIDE_NAME,
  type HaproxyModel,
  serversFor,
  websocketModel,
  workerAddress,
} from "./model.js";
import { createHaproxyProcess } from "./process.js";
import { RuntimeClient } from "./runtime.js";

/** How long a replaced worker may take to be seen UP by HAProxy's checks (inter 1s, rise 1) before we give up. */
const ADMIT_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;

/** What HAProxy needs to know of the servers behind it: `<name>_NN` on `host`, ports from `basePort`. */
interface BackendServers {
  readonly programName: string;
  readonly host: string;
  readonly basePort: number;
  readonly count: number;
  /** false for --exec programs, which may serve no /healthz: HAProxy checks that their port accepts instead. */
  readonly httpHealthCheck: boolean;
}

export interface BalancerSettings {
  readonly haproxy: HaproxyOptions;
  readonly servers: BackendServers;
  readonly supervision: SupervisionOptions;
  /** Environment added to haproxy's: the orphan guard's marker. */
  readonly env: Readonly<Record<string, string>>;
  /** wss://: the combined PEM (mode 0600, in the runtime directory) HAProxy's frontend terminates TLS with. */
  readonly tlsCrtFile?: string | undefined;
  /** --max-conns-per-ip / --handshake-rate, enforced by the frontend's stick table. */
  readonly addressLimits?: AddressLimitsModel | undefined;
  /**
   * `wsfleet upgrade`'s new generation: the old HAProxy's runtime socket. Its ports are in use by it, so they are not
   * checked; the new haproxy takes its listening sockets (`-x`).
   */
  readonly takeListenersFrom?: string | undefined;
}

/** What the runtime API client does for the balancer (RuntimeClient; a recording fake in tests). */
type RuntimeApi = Pick<
  RuntimeClient,
  "socketPath" | "send" | "isAnswering" | "setServerState" | "serverState" | "serverStates" | "replaceCertificate"
>;

/** Injected, as the fleet's are: time, the process-group killer, and the runtime API client. */
export interface BalancerDeps {
  readonly logger: Logger;
  readonly clock: Clock;
  signalGroup(pgid: number, signal: NodeJS.Signals): void;
  /** The client of HAProxy's runtime API socket; by default a RuntimeClient on `socketPath`. */
  connectRuntime?(socketPath: string): RuntimeApi;
}

/**
 * `--haproxy`: the HAProxy in front of this primary's workers. Prepares a private runtime directory with a config
 * that passed `haproxy -c`, supervises the haproxy process, and takes workers out of and back into rotation over
 * the runtime API during a rolling restart.
 */
export class HaproxyBalancer {
  readonly runtime: RuntimeApi;
  private readonly logger: Logger;
  private process: SupervisedProcess | undefined;
  /** Replaced by a reload, finishing their open connections (soft stop). */
  private readonly retiring = new Set<SupervisedProcess>();
  private readonly fatalListeners: Array<() => void> = [];
  private guard: ProcessGroupWatcher | undefined;
  private model: HaproxyModel | undefined;
  /** How many servers the config on disk has (the fleet's size). */
  private serverCount = 0;

  private constructor(
    private settings: BalancerSettings,
    private readonly deps: BalancerDeps,
    private bin: string,
    readonly runtimeDir: string,
    readonly configPath: string,
  ) {
    const socketPath = path.join(runtimeDir, "haproxy.sock");
    this.runtime = deps.connectRuntime?.(socketPath) ?? new RuntimeClient(socketPath);
    this.logger = deps.logger;
  }

  /**
   * Everything that can fail on bad input, before any process starts: binary, ports, `haproxy -c`. The config and
   * the runtime API socket go in the primary's private runtime directory (mode 700), removed when the primary exits.
   */
  static async prepare(settings: BalancerSettings, deps: BalancerDeps, runtimeDir: string): Promise<HaproxyBalancer> {
    const { haproxy } = settings;
    const bin = await resolveHaproxyBinary(haproxy.bin);
    await assertResolves(haproxy.frontend.host, "--frontend-host");
    if (haproxy.stats) await assertResolves(haproxy.stats.host, "--haproxy-stats");
    const handOver = settings.takeListenersFrom !== undefined;
    if (!handOver) {
      await assertPortFree(haproxy.frontend.host, haproxy.frontend.port, {
        port: "--frontend-port",
        host: "--frontend-host",
      });
    }
    if (haproxy.stats && !handOver) {
      await assertPortFree(haproxy.stats.host, haproxy.stats.port, {
        port: "--haproxy-stats",
        host: "--haproxy-stats",
      });
    }
    const balancer = new HaproxyBalancer(settings, deps, bin, runtimeDir, path.join(runtimeDir, "haproxy.cfg"));
    await balancer.writeConfig(settings.servers.count);
    return balancer;
  }

  /** Starts haproxy in its own process group, watched by the orphan guard; resolves once its runtime API answers. */
  async start(guard: ProcessGroupWatcher): Promise<void> {
    this.guard = guard;
    const haproxyProcess = this.createProcess(guard, this.settings.takeListenersFrom);
    this.process = haproxyProcess;
    haproxyProcess.start();
    await haproxyProcess.waitFor(["RUNNING"], ["FATAL", "STOPPED"]);
  }

  private createProcess(guard: ProcessGroupWatcher, takeListenersFrom: string | undefined): SupervisedProcess {
    const { haproxy, supervision, env } = this.settings;
    const haproxyProcess = createHaproxyProcess({
      bin: this.bin,
      configPath: this.configPath,
      env,
      port: haproxy.frontend.port,
      logger: this.logger,
      clock: this.deps.clock,
      policy: restartPolicyWith(supervision),
      isAnswering: (pid) => this.runtime.isAnswering(pid),
      signalGroup: this.deps.signalGroup,
      onGroupStart: (pgid) => guard.watch(pgid),
      onGroupEnd: (pgid) => guard.unwatch(pgid),
      stopTimeoutMs: supervision.stopTimeoutMs,
      takeListenersFrom,
    });
    haproxyProcess.on("state", (state) => {
      if (state === "FATAL" && haproxyProcess === this.process) for (const listener of this.fatalListeners) listener();
    });
    return haproxyProcess;
  }

  /** HAProxy gave up restarting (Supervisor's FATAL). */
  onFatal(listener: () => void): void {
    this.fatalListeners.push(listener);
  }

  /**
   * `wsfleet reload` with changed HAProxy settings: HAProxy's seamless reload. A new haproxy reads the new config
   * (checked with `haproxy -c` first) and takes the listening sockets from the running one (`-x`), so no handshake
   * is refused; the old one then soft-stops (SIGUSR1) and finishes its open connections (until they end, at most
   * their tunnel timeout). A new one that does not start is stopped, the old config put back, the old one serves on.
   */
  async reload(haproxy: HaproxyOptions): Promise<void> {
    const previous = this.process;
    const { guard } = this;
    if (!previous || !guard) throw new Error("haproxy is not running");
    const before = { settings: this.settings, bin: this.bin };
    const old = before.settings.haproxy;
    // A new address must be free; one that stays is handed over.
    if (haproxy.frontend.host !== old.frontend.host || haproxy.frontend.port !== old.frontend.port) {
      await assertResolves(haproxy.frontend.host, "--frontend-host");
      await assertPortFree(haproxy.frontend.host, haproxy.frontend.port, {
        port: "--frontend-port",
        host: "--frontend-host",
      });
    }
    if (haproxy.stats && (haproxy.stats.host !== old.stats?.host || haproxy.stats.port !== old.stats?.port)) {
      await assertPortFree(haproxy.stats.host, haproxy.stats.port, {
        port: "--haproxy-stats",
        host: "--haproxy-stats",
      });
    }
    let next: SupervisedProcess | undefined;
    try {
      this.bin = await resolveHaproxyBinary(haproxy.bin);
      this.settings = { ...before.settings, haproxy };
      await this.writeConfig(this.serverCount);
      next = this.createProcess(guard, this.runtime.socketPath);
      next.start();
      await next.waitFor(["RUNNING"], ["FATAL", "STOPPED", "BACKOFF", "EXITED"]);
    } catch (error) {
      await next?.stop();
      this.settings = before.settings;
      this.bin = before.bin;
      await this.writeConfig(this.serverCount).catch(() => {});
      throw new Error(`the new haproxy did not start, the old one serves on: ${(error as Error).message}`);
    }
    this.process = next;
    this.retiring.add(previous);
    const oldPid = previous.pid;
    // Its connections cannot outlive the tunnel timeout anyway; then it is killed.
    void previous.finish("SIGUSR1", old.tunnelTimeoutMs + before.settings.supervision.stopTimeoutMs).finally(() => {
      this.retiring.delete(previous);
    });
    this.logger.event(
      "info",
      "haproxy-reload",
      `haproxy reloaded: pid ${next.pid} serves the new config, pid ${oldPid} finishes its open connections`,
      { pid: next.pid, oldPid },
    );
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async drain(server: string): Promise<void> {
    try {
      await this.runtime.setServerState(GUIDE_NAME, server, "drain");
      this.logger.event("info", "haproxy-drain", `haproxy: ${server} set to drain: no new connections`, {
        worker: server,
      });
    } catch (error) {
      // HAProxy may be restarting; the worker still answers 503 while it drains and HAProxy retries elsewhere.
      this.logger.event("warn", "haproxy-drain", `could not drain ${server} in haproxy: ${(error as Error).message}`, {
        worker: server,
      });
    }
  }

  async admit(server: string): Promise<void> {
    const { clock } = this.deps;
    const deadline = clock.now() + ADMIT_TIMEOUT_MS;
    let operational = "unknown";
    while (clock.now() < deadline) {
      const state = await this.runtime.serverState(GUIDE_NAME, server).catch(() => undefined);
      operational = state?.operational ?? operational;
      if (operational === "UP") break;
      await this.pause();
    }
    // Ready even when the checks have not seen it UP yet: a server left in drain would never serve again.
    await this.runtime.setServerState(GUIDE_NAME, server, "ready").catch(() => {});
    if (operational !== "UP") {
      throw new Error(`haproxy did not see ${server} UP within ${ADMIT_TIMEOUT_MS} ms (last: ${operational})`);
    }
    this.logger.event("info", "haproxy-ready", `haproxy: ${server} is UP and set to ready`, { worker: server });
  }

  /** Resolves true once HAProxy's checks see every one of `servers` UP, false if they do not within `timeoutMs`. */
  async waitUntilUp(servers: readonly string[], timeoutMs = ADMIT_TIMEOUT_MS): Promise<boolean> {
    const { clock } = this.deps;
    const deadline = clock.now() + timeoutMs;
    while (clock.now() < deadline) {
      const states = await this.runtime.serverStates(GUIDE_NAME).catch(() => []);
      const up = new Set(states.filter((state) => state.operational === "UP").map((state) => state.server));
      if (servers.every((server) => up.has(server))) return true;
      await this.pause();
    }
    return false;
  }

  /** Between two looks at HAProxy's server states (its checks run every second). */
  private pause(): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimeout(resolve, POLL_INTERVAL_MS));
  }

  /** The config for `workers` servers, checked with `haproxy -c`; what a restarted haproxy reads. */
  private async writeConfig(count: number): Promise<void> {
    const { haproxy, servers } = this.settings;
    const model = websocketModel({
      servers: serversFor(servers.programName, [
        { host: workerAddress(servers.host), firstPort: servers.basePort, lastPort: servers.basePort + count - 1 },
      ]),
      frontend: haproxy.frontend,
      stats: haproxy.stats,
      tunnelTimeoutMs: haproxy.tunnelTimeoutMs,
      runtimeSocket: this.runtime.socketPath,
      exposeListeners: true,
      httpHealthCheck: servers.httpHealthCheck,
      tlsCrtFile: this.settings.tlsCrtFile,
      addressLimits: this.settings.addressLimits,
    });
    this.model = model;
    this.serverCount = count;
    await writeFile(this.configPath, renderConfig(model), { mode: 0o600 });
    await checkConfigFile(this.bin, this.configPath);
  }

  /**
   * SIGTTIN: a new worker joins the running HAProxy (runtime API `add server`, with the checks of the others; a
   * dynamic server starts in maintenance, hence the two enables) and the config on disk, for a restarted haproxy.
   */
  async add(server: { readonly name: string; readonly port: number }, count: number): Promise<void> {
    const check = this.model?.backend.healthCheck;
    const checkArgs = check ? ` check ${serverCheckArguments(check)}` : "";
    // A dynamic server gets no name resolution in HAProxy 2.6 (its checks fail with "Socket error" on "localhost"):
    // give it an address the worker listens on.
    const [host = "127.0.0.1"] = await listenAddresses(workerAddress(this.settings.servers.host));
    const address = formatAddress({ host, port: server.port });
    const answer = await this.runtime.send(`add server ${GUIDE_NAME}/${server.name} ${address}${checkArgs}`);
    if (!/New server registered/.test(answer))
      throw new Error(`haproxy refused to add ${server.name}: ${answer.trim()}`);
    if (check) await this.runtime.send(`enable health ${GUIDE_NAME}/${server.name}`);
    await this.runtime.send(`enable server ${GUIDE_NAME}/${server.name}`);
    await this.writeConfig(count);
    this.logger.event("info", "haproxy-add", `haproxy: added server ${server.name} (${address})`, {
      worker: server.name,
    });
  }

  /** SIGTTOU: once the worker has stopped, its server leaves the running HAProxy and the config on disk. */
  async remove(server: string, count: number): Promise<void> {
    await this.runtime.setServerState(GUIDE_NAME, server, "maint").catch(() => {});
    const answer = await this.runtime.send(`del server ${GUIDE_NAME}/${server}`);
    if (!/Server deleted/.test(answer)) throw new Error(`haproxy refused to delete ${server}: ${answer.trim()}`);
    await this.writeConfig(count);
    this.logger.event("info", "haproxy-remove", `haproxy: removed server ${server}`, { worker: server });
  }

  /** `wsfleet reload-cert`: the running HAProxy serves `pem` to new handshakes; open connections keep theirs. */
  async replaceCertificate(pem: string): Promise<void> {
    const file = this.settings.tlsCrtFile;
    if (file === undefined) throw new Error("haproxy was started without --tls-cert");
    await this.runtime.replaceCertificate(file, pem);
  }

  /**
   * `wsfleet upgrade`: the new HAProxy holds the listening sockets too, so this one soft-stops (SIGUSR1): it closes
   * its listeners and exits once its last connection has ended (the old workers' drain ends them), SIGKILL after
   * `killAfterMs`. Resolves once it has exited.
   */
  handOver(killAfterMs: number): Promise<void> {
    return this.process?.finish("SIGUSR1", killAfterMs) ?? Promise.resolve();
  }

  /** Stops haproxy (and one a reload replaced, still finishing), the last process to go. */
  async stop(): Promise<void> {
    await Promise.all([this.process?.stop(), ...[...this.retiring].map((each) => each.stop())]);
  }

  kill(): void {
    this.process?.kill();
    for (const each of this.retiring) each.kill();
  }

  /** For `wsfleet status`: the haproxy process and HAProxy's own view of each server. */
  async status(): Promise<BalancerStatus> {
    const servers: Record<string, string> = {};
    const states = await this.runtime.serverStates(GUIDE_NAME).catch(() => []);
    for (const state of states) {
      servers[state.server] = state.admin === "ready" ? state.operational : `${state.operational} (${state.admin})`;
    }
    const process = this.process?.status();
    return { pid: process?.pid, state: process?.state ?? "STOPPED", restarts: process?.restarts ?? 0, servers };
  }
}
