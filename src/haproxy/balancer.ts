import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { TrafficControl } from "../fleet/fleet.js";
import { killGroup } from "../fleet/orphan-guard.js";
import { assertPortFree } from "../fleet/port-check.js";
import { DEFAULT_RESTART_POLICY } from "../fleet/restart-policy.js";
import type { Slot } from "../fleet/slot.js";
import { systemClock, type WorkerHandle } from "../fleet/worker-handle.js";
import type { Logger } from "../log/logger.js";
import type { Options } from "../options.js";
import { checkConfigFile, resolveHaproxyBinary } from "./check.js";
import { formatAddress, renderConfig, serverCheckArguments } from "./config.js";
import { GUIDE_NAME, type HaproxyModel, serversFor, websocketModel, workerAddress } from "./model.js";
import { createHaproxyProcess } from "./process.js";
import { RuntimeClient } from "./runtime.js";

/** How long a replaced worker may take to be seen UP by HAProxy's checks (inter 1s, rise 1) before we give up. */
const ADMIT_TIMEOUT_MS = 15_000;

export interface BalancerStatus {
  pid: number | undefined;
  state: string;
  restarts: number;
  /** Server name → HAProxy's operational state (UP, DOWN...), with its admin state when not READY (DRAIN, MAINT). */
  servers: Record<string, string>;
}

export interface ProcessGroupWatcher {
  watchGroup(pgid: number): void;
  unwatchGroup(pgid: number): void;
}

/**
 * `--haproxy`: the HAProxy in front of this primary's workers. Prepares a private runtime directory with a config
 * that passed `haproxy -c`, supervises the haproxy process, and takes workers out of and back into rotation over
 * the runtime API during a rolling restart.
 */
export class HaproxyBalancer implements TrafficControl {
  readonly runtime: RuntimeClient;
  private process: WorkerHandle | undefined;
  private model: HaproxyModel | undefined;

  private constructor(
    private readonly options: Options,
    private readonly logger: Logger,
    private readonly bin: string,
    readonly runtimeDir: string,
    readonly configPath: string,
  ) {
    this.runtime = new RuntimeClient(path.join(runtimeDir, "haproxy.sock"));
  }

  /**
   * Everything that can fail on bad input, before any process starts: binary, ports, `haproxy -c`. The config and
   * the runtime API socket go in the primary's private runtime directory (mode 700), removed when the primary exits.
   */
  static async prepare(options: Options, logger: Logger, runtimeDir: string): Promise<HaproxyBalancer> {
    const haproxy = options.haproxy;
    if (!haproxy) throw new Error("HaproxyBalancer.prepare without --haproxy");
    const bin = await resolveHaproxyBinary(haproxy.bin);
    await assertPortFree(haproxy.frontend.host, haproxy.frontend.port, {
      port: "--frontend-port",
      host: "--frontend-host",
    });
    if (haproxy.stats) {
      await assertPortFree(haproxy.stats.host, haproxy.stats.port, {
        port: "--haproxy-stats",
        host: "--haproxy-stats",
      });
    }
    const balancer = new HaproxyBalancer(options, logger, bin, runtimeDir, path.join(runtimeDir, "haproxy.cfg"));
    await balancer.writeConfig(options.workers);
    return balancer;
  }

  /** Starts haproxy in its own process group, watched by the orphan guard; resolves once its runtime API answers. */
  async start(guard: ProcessGroupWatcher): Promise<void> {
    const haproxy = createHaproxyProcess({
      bin: this.bin,
      configPath: this.configPath,
      port: this.options.haproxy?.frontend.port ?? 0,
      logger: this.logger,
      clock: systemClock,
      policy: { ...DEFAULT_RESTART_POLICY, startRetries: this.options.startRetries },
      isAnswering: () => this.runtime.isAnswering(),
      signalGroup: killGroup,
      onGroupStart: (pgid) => guard.watchGroup(pgid),
      onGroupEnd: (pgid) => guard.unwatchGroup(pgid),
      stopTimeoutMs: this.options.stopTimeoutMs,
    });
    this.process = haproxy;
    haproxy.start();
    await haproxy.waitFor(["RUNNING"], ["FATAL", "STOPPED"]);
  }

  /** HAProxy gave up restarting (Supervisor's FATAL). */
  onFatal(listener: () => void): void {
    this.process?.on("state", (state) => {
      if (state === "FATAL") listener();
    });
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  async drain(slot: Slot): Promise<void> {
    try {
      await this.runtime.setServerState(GUIDE_NAME, slot.processName, "drain");
      this.logger.event("info", "haproxy-drain", `haproxy: ${slot.processName} set to drain: no new connections`, {
        worker: slot.processName,
      });
    } catch (error) {
      // HAProxy may be restarting; the worker still answers 503 while it drains and HAProxy retries elsewhere.
      this.logger.event(
        "warn",
        "haproxy-drain",
        `could not drain ${slot.processName} in haproxy: ${(error as Error).message}`,
        {
          worker: slot.processName,
        },
      );
    }
  }

  async admit(slot: Slot): Promise<void> {
    const deadline = Date.now() + ADMIT_TIMEOUT_MS;
    let operational = "unknown";
    while (Date.now() < deadline) {
      const state = await this.runtime.serverState(GUIDE_NAME, slot.processName).catch(() => undefined);
      operational = state?.operational ?? operational;
      if (operational === "UP") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Ready even when the checks have not seen it UP yet: a server left in drain would never serve again.
    await this.runtime.setServerState(GUIDE_NAME, slot.processName, "ready").catch(() => {});
    if (operational !== "UP") {
      throw new Error(
        `haproxy did not see ${slot.processName} UP within ${ADMIT_TIMEOUT_MS} ms (last: ${operational})`,
      );
    }
    this.logger.event("info", "haproxy-ready", `haproxy: ${slot.processName} is UP and set to ready`, {
      worker: slot.processName,
    });
  }

  /** The config for `workers` servers, checked with `haproxy -c`; what a restarted haproxy reads. */
  private async writeConfig(workers: number): Promise<void> {
    const { haproxy } = this.options;
    if (!haproxy) return;
    const model = websocketModel({
      servers: serversFor(this.options.name, [
        {
          host: workerAddress(this.options.host),
          firstPort: this.options.basePort,
          lastPort: this.options.basePort + workers - 1,
        },
      ]),
      frontend: haproxy.frontend,
      stats: haproxy.stats,
      tunnelTimeoutMs: haproxy.tunnelTimeoutMs,
      runtimeSocket: this.runtime.socketPath,
      // An --exec program (the guide's app.py) serves no /healthz: check that its port accepts instead.
      httpHealthCheck: this.options.exec === undefined,
    });
    this.model = model;
    await writeFile(this.configPath, renderConfig(model), { mode: 0o600 });
    await checkConfigFile(this.bin, this.configPath);
  }

  /**
   * SIGTTIN: a new worker joins the running HAProxy (runtime API `add server`, with the checks of the others; a
   * dynamic server starts in maintenance, hence the two enables) and the config on disk, for a restarted haproxy.
   */
  async add(slot: Slot, workers: number): Promise<void> {
    const check = this.model?.backend.healthCheck;
    const checkArgs = check ? ` check ${serverCheckArguments(check)}` : "";
    const address = formatAddress({ host: workerAddress(this.options.host), port: slot.port });
    const answer = await this.runtime.send(`add server ${GUIDE_NAME}/${slot.processName} ${address}${checkArgs}`);
    if (!/New server registered/.test(answer))
      throw new Error(`haproxy refused to add ${slot.processName}: ${answer.trim()}`);
    if (check) await this.runtime.send(`enable health ${GUIDE_NAME}/${slot.processName}`);
    await this.runtime.send(`enable server ${GUIDE_NAME}/${slot.processName}`);
    await this.writeConfig(workers);
    this.logger.event("info", "haproxy-add", `haproxy: added server ${slot.processName} (${address})`, {
      worker: slot.processName,
    });
  }

  /** SIGTTOU: once the worker has stopped, its server leaves the running HAProxy and the config on disk. */
  async remove(slot: Slot, workers: number): Promise<void> {
    await this.runtime.setServerState(GUIDE_NAME, slot.processName, "maint").catch(() => {});
    const answer = await this.runtime.send(`del server ${GUIDE_NAME}/${slot.processName}`);
    if (!/Server deleted/.test(answer))
      throw new Error(`haproxy refused to delete ${slot.processName}: ${answer.trim()}`);
    await this.writeConfig(workers);
    this.logger.event("info", "haproxy-remove", `haproxy: removed server ${slot.processName}`, {
      worker: slot.processName,
    });
  }

  /** Stops haproxy, the last process to go. */
  async stop(): Promise<void> {
    await this.process?.stop();
  }

  kill(): void {
    this.process?.kill();
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
