import net from "node:net";

/** HAProxy's `set server ... state` values. */
export type AdminState = "ready" | "drain" | "maint";
/** A server's operational state as HAProxy's checks see it. */
type OperationalState = "DOWN" | "STARTING" | "UP" | "STOPPING";

export interface ServerState {
  readonly backend: string;
  readonly server: string;
  readonly operational: OperationalState;
  readonly admin: AdminState;
}

/** srv_op_state values (HAProxy's enum srv_state). */
const OPERATIONAL: Record<string, OperationalState> = { "0": "DOWN", "1": "STARTING", "2": "UP", "3": "STOPPING" };
/** srv_admin_state bits: forced/inherited/config/resolver/hostname maintenance, and forced/inherited drain. */
const MAINT_BITS = 0x01 | 0x02 | 0x04 | 0x20 | 0x40;
const DRAIN_BITS = 0x08 | 0x10;

/** Parses `show servers state` (format version 1): pure, columns found by their names in the header. */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const header = lines.find((line) => line.startsWith("# "));
  if (!header) return [];
  const columns = header.slice(2).trim().split(/\s+/);
  const at = (row: string[], name: string) => row[columns.indexOf(name)] ?? "";
  return lines
    .filter((line) => !line.startsWith("#") && /\s/.test(line.trim()))
    .map((line) => {
      const row = line.trim().split(/\s+/);
      const adminBits = Number(at(row, "srv_admin_state"));
      const admin: AdminState = adminBits & MAINT_BITS ? "maint" : adminBits & DRAIN_BITS ? "drain" : "ready";
      return {
        backend: at(row, "be_name"),
        server: at(row, "srv_name"),
        operational: OPERATIONAL[at(row, "srv_op_state")] ?? "DOWN",
        admin,
      };
    });
}

/** A client for HAProxy's runtime API over its unix `stats socket`: one command per connection. */
export class RuntimeClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 2000,
  ) {}

  /** Sends one command and resolves with HAProxy's whole answer. */
  send(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.socketPath);
      let answer = "";
      socket.setEncoding("utf8");
      socket.setTimeout(this.timeoutMs, () =>
        socket.destroy(new Error(`HAProxy runtime API: no answer to "${command}" within ${this.timeoutMs} ms`)),
      );
      socket.once("connect", () => socket.write(`${command}\n`));
      socket.on("data", (chunk: string) => {
        answer += chunk;
      });
      socket.once("error", reject);
      socket.once("end", () => resolve(answer));
    });
  }

  /** True once HAProxy answers on the socket (it is up and has read its config). */
  /** Whether HAProxy answers on the socket; with `pid`, whether that haproxy does (two share it during a reload). */
  async isAnswering(pid?: number): Promise<boolean> {
    return this.send("show info").then(
      (answer) => (pid === undefined ? answer.includes("Pid:") : new RegExp(`^Pid: ${pid}$`, "m").test(answer)),
      () => false,
    );
  }

  async setServerState(backend: string, server: string, state: AdminState): Promise<void> {
    const answer = (await this.send(`set server ${backend}/${server} state ${state}`)).trim();
    if (answer !== "") throw new Error(`HAProxy refused "set server ${backend}/${server} state ${state}": ${answer}`);
  }

  /**
   * Swaps the certificate HAProxy loaded from `crtFile` (as named in its config) for `pem`: `set ssl cert` opens a
   * transaction, `commit ssl cert` applies it. Open connections keep theirs; new handshakes get the new one.
   */
  async replaceCertificate(crtFile: string, pem: string): Promise<void> {
    // A payload follows `<<` and ends at an empty line.
    const set = (await this.send(`set ssl cert ${crtFile} <<\n${pem.trimEnd()}\n`)).trim();
    if (!/^Transaction (created|updated)/.test(set)) {
      await this.send(`abort ssl cert ${crtFile}`).catch(() => "");
      throw new Error(`HAProxy refused "set ssl cert ${crtFile}": ${set}`);
    }
    const commit = (await this.send(`commit ssl cert ${crtFile}`)).trim();
    if (!/Success!/.test(commit)) throw new Error(`HAProxy refused "commit ssl cert ${crtFile}": ${commit}`);
  }

  async serverStates(backend: string): Promise<ServerState[]> {
    return parseServersState(await this.send(`show servers state ${backend}`));
  }

  async serverState(backend: string, server: string): Promise<ServerState | undefined> {
    return (await this.serverStates(backend)).find((state) => state.server === server);
  }
}
