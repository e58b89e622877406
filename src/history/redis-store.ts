import { randomBytes } from "node:crypto";
import type { Cluster, Redis } from "ioredis";
import { PLAIN_PUB_SUB, type PubSubFlavour } from "../broker/redis-broker.js";
import { SHARDED_PUB_SUB } from "../broker/redis-cluster-broker.js";
import { sequencedHead } from "./sequenced-frame.js";
import type { HistoryStore, Recovery, StoredMessage, StreamPosition } from "./store.js";

/**
 * Every script starts here: the topic's epoch and last offset, or a new history when the old one is gone. No epoch key
 * means the topic was never published, its keys expired together (one EXPIRE time for all three), or Redis restarted
 * empty or was flushed; a sequence without a log or a log without a sequence means a key was evicted. Either way the
 * offsets start again at 0 under the new epoch (`candidate`, made by the client: Lua's math.random is not something to
 * rely on across versions).
 */
const CURRENT = `
local seq, log, epochKey = KEYS[1], KEYS[2], KEYS[3]
local function current(candidate, ttl)
  local epoch = redis.call('GET', epochKey)
  local offset = tonumber(redis.call('GET', seq) or '0')
  if epoch and (offset == 0) == (redis.call('EXISTS', log) == 0) then return epoch, offset end
  redis.call('DEL', seq, log)
  redis.call('SET', epochKey, candidate, 'EX', ttl)
  return candidate, 0
end
`;

/**
 * ARGV: channel, prefix (the broker's origin), the frame's head (sequencedHead), payload, stream field (t/b), candidate
 * epoch, length, ttl, PUBLISH or SPUBLISH. The published message is the prefix, then the head with its u32 length
 * rewritten for the body (u8 epoch length, epoch, f64 offset, payload: sequenced-frame.ts).
 *
 * `MAXLEN ~ n`, not exact: an exact trim only marks the oldest entry deleted inside its node (the memory is freed when
 * the whole node of up to 100 entries goes, as with `~`: MEMORY USAGE was the same), and it cost ~4 µs more per
 * append here (10.7 against 7.0 µs for INCR + XADD in a script). `since` never reads beyond the last n, so the history
 * is exactly n messages to a client; Redis keeps at most one node more.
 */
const APPEND = `${CURRENT}
local epoch = current(ARGV[6], ARGV[8])
local offset = redis.call('INCR', seq)
redis.call('XADD', log, 'MAXLEN', '~', ARGV[7], string.format('%d-0', offset), ARGV[5], ARGV[4])
redis.call('EXPIRE', seq, ARGV[8])
redis.call('EXPIRE', log, ARGV[8])
redis.call('EXPIRE', epochKey, ARGV[8])
local head, payload = ARGV[3], ARGV[4]
redis.call(ARGV[9], ARGV[1], table.concat({ARGV[2], struct.pack('>I4', #head - 4 + 1 + #epoch + 8 + #payload),
  string.sub(head, 5), string.char(#epoch), epoch, struct.pack('>d', offset), payload}))
return {epoch, offset}
`;

/**
 * ARGV: candidate epoch, ttl, since's epoch, since's offset (a whole number, or '-' for none), count, length. The oldest
 * message given is the stream's first or the n-th last, whichever is later (the trim is approximate).
 */
const SINCE = `${CURRENT}
local epoch, offset = current(ARGV[1], ARGV[2])
local since = tonumber(ARGV[4])
if ARGV[3] ~= epoch or since == nil or since > offset then return {0, epoch, offset} end
if since == offset then return {1, epoch, offset, {}} end
local first = tonumber(string.match(redis.call('XRANGE', log, '-', '+', 'COUNT', 1)[1][1], '^%d+'))
if since < math.max(first, offset - tonumber(ARGV[6]) + 1) - 1 then return {0, epoch, offset} end
return {1, epoch, offset, redis.call('XRANGE', log, string.format('%d-0', since + 1), '+', 'COUNT', ARGV[5])}
`;

/** ARGV: candidate epoch, ttl. */
const POSITION = `${CURRENT}
local epoch, offset = current(ARGV[1], ARGV[2])
return {epoch, offset}
`;

/** ARGV: candidate epoch, ttl. Drops the history and starts the new epoch at offset 0. */
const RENEW = `
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
`;

/** ARGV: ttl. A topic with no keys stays without: its next publish or read starts a new epoch anyway. */
const TOUCH = `
return redis.call('EXPIRE', KEYS[1], ARGV[1]) + redis.call('EXPIRE', KEYS[2], ARGV[1]) +
  redis.call('EXPIRE', KEYS[3], ARGV[1])
`;

type Arg = string | number | Buffer;
type Entry = [id: Buffer, fields: Buffer[]];
type SinceReply = [recovered: 0 | 1, epoch: Buffer, offset: number, entries?: Entry[]];

/** The scripts as commands of the client (ioredis' defineCommand: EVALSHA, EVAL after a NOSCRIPT). */
interface HistoryCommands {
  wsfleetHistoryAppend(seq: Buffer, log: Buffer, epoch: Buffer, ...args: Arg[]): Promise<[string, number]>;
  wsfleetHistorySinceBuffer(seq: Buffer, log: Buffer, epoch: Buffer, ...args: Arg[]): Promise<SinceReply>;
  wsfleetHistoryPosition(seq: Buffer, log: Buffer, epoch: Buffer, ...args: Arg[]): Promise<[string, number]>;
  wsfleetHistoryTouch(seq: Buffer, log: Buffer, epoch: Buffer, ttl: number): Promise<number>;
  wsfleetHistoryRenew(seq: Buffer, log: Buffer, epoch: Buffer, candidate: string, ttl: number): Promise<string>;
}

const TEXT_FIELD = "t";
const BINARY_FIELD = "b";

export interface RedisHistoryOptions {
  /** Put before each published message: the broker's messages start with an 8-byte origin id. */
  readonly prefix?: Buffer;
  /** PUBLISH or SPUBLISH and the channel of a topic; by default the broker's for this client (one Redis or a Cluster). */
  readonly flavour?: PubSubFlavour;
}

/**
 * `--history` with `--broker`: Redis is the sequencer, so fleets on several hosts see the same offsets. Each topic has
 * three keys in one hash slot (the topic is the hash tag, as in the cluster broker's channel `wsfleet:<name>:{<topic>}`,
 * so on a Redis Cluster a topic's history and its channel live on one shard):
 *
 *     wsfleet:<name>:{<topic>}:seq    the last offset given (INCR)
 *     wsfleet:<name>:{<topic>}:log    a stream of the last n messages, entry ID `<offset>-0`, field t (text) or b (binary)
 *     wsfleet:<name>:{<topic>}:epoch  the history's epoch
 *
 * A publish is one Lua call: INCR, XADD with that ID and MAXLEN ~ n, EXPIRE ttl on the three keys, and the PUBLISH
 * (SPUBLISH on a cluster) of the message with its epoch and offset, so sequencing, storing and live delivery are one
 * atomic step: no subscriber sees a live message that is not in the history yet, or the messages of one topic in
 * another order than their offsets. Why these commands:
 * - INCR + XADD with an explicit ID, not XADD's own `*` IDs: those are millisecond timestamps, increasing but not
 *   gap-free, so a client could not tell from two of them whether it missed one; ours are 1, 2, 3, … and the stream
 *   seeks by them (XRANGE from `<offset+1>-0`: O(log n)), and the entry's ID is its offset, with nothing else stored.
 * - A stream, not INCR + a capped list (RPUSH + LTRIM): a list would need each offset stored in the element or
 *   computed from the sequence and the list's length, and reads by index from the head; a stream keeps the ID per
 *   entry, and MAXLEN trims it in the same command.
 * - Lua, not MULTI: the epoch check (is there a history at all?) decides what the writes are, which MULTI cannot, and
 *   it is one round trip; every key and the channel share the hash slot, so a cluster runs it on one shard.
 * Reads (`since`, `position`) are one Lua call too, so no append slips between reading the sequence, the epoch and
 * the range.
 *
 * Topics are the hub's topic keys (latin1, one char per byte), as the broker takes them.
 */
export class RedisHistoryStore implements HistoryStore {
  private readonly commands: HistoryCommands;
  private readonly flavour: PubSubFlavour;
  private readonly prefix: Buffer;
  /** New epochs are this process's token and a counter: unique without a random draw per call. */
  private readonly epochToken = randomBytes(9).toString("base64url");
  private epochCount = 0;

  constructor(
    client: Redis | Cluster,
    private readonly name: string,
    private readonly length: number,
    private readonly ttlSeconds: number,
    options: RedisHistoryOptions = {},
  ) {
    if (!Number.isSafeInteger(length) || length < 1)
      throw new RangeError(`history length ${length}: a whole number ≥ 1`);
    if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) throw new RangeError(`history TTL ${ttlSeconds}: ≥ 1 s`);
    for (const [command, lua] of [
      ["wsfleetHistoryAppend", APPEND],
      ["wsfleetHistorySince", SINCE],
      ["wsfleetHistoryPosition", POSITION],
      ["wsfleetHistoryTouch", TOUCH],
      ["wsfleetHistoryRenew", RENEW],
    ] as const) {
      client.defineCommand(command, { lua, numberOfKeys: 3 });
    }
    this.commands = client as unknown as HistoryCommands;
    this.flavour = options.flavour ?? (client.isCluster ? SHARDED_PUB_SUB : PLAIN_PUB_SUB);
    this.prefix = options.prefix ?? Buffer.alloc(0);
  }

  async append(topic: string, payload: Buffer, isBinary: boolean): Promise<StreamPosition> {
    const topicBytes = Buffer.from(topic, "latin1");
    const [epoch, offset] = await this.commands.wsfleetHistoryAppend(
      ...this.keys(topicBytes),
      this.flavour.channel(this.name, topicBytes),
      this.prefix,
      sequencedHead(topicBytes, isBinary),
      payload,
      isBinary ? BINARY_FIELD : TEXT_FIELD,
      this.nextEpoch(),
      this.length,
      this.ttlSeconds,
      this.flavour.publish,
    );
    return { epoch, offset };
  }

  async since(topic: string, since: StreamPosition, limit?: number): Promise<Recovery> {
    // A malformed position is asked as none ('-' is no number in Lua): the answer is "not recovered" and where it is.
    const valid = typeof since?.epoch === "string" && Number.isSafeInteger(since.offset) && since.offset >= 0;
    const count = limit !== undefined && limit >= 1 ? Math.min(Math.floor(limit), this.length) : this.length;
    const [recovered, epochBytes, offset, entries] = await this.commands.wsfleetHistorySinceBuffer(
      ...this.keys(Buffer.from(topic, "latin1")),
      this.nextEpoch(),
      this.ttlSeconds,
      valid ? since.epoch : "",
      valid ? since.offset : "-",
      count,
      this.length,
    );
    const epoch = epochBytes.toString("latin1");
    if (recovered === 0 || !entries) return { recovered: false, position: { epoch, offset } };
    const messages = entries.map(storedMessage);
    // With a limit, the position is the last message given: the caller asks again from there.
    const last = messages.length > 0 ? (messages[messages.length - 1] as StoredMessage).offset : offset;
    return { recovered: true, position: { epoch, offset: last }, messages };
  }

  async position(topic: string): Promise<StreamPosition> {
    const [epoch, offset] = await this.commands.wsfleetHistoryPosition(
      ...this.keys(Buffer.from(topic, "latin1")),
      this.nextEpoch(),
      this.ttlSeconds,
    );
    return { epoch, offset };
  }

  /** Keeps a topic's history for another ttl (a topic with subscribers but no publish); resolves whether it had one. */
  async touch(topic: string): Promise<boolean> {
    return (await this.commands.wsfleetHistoryTouch(...this.keys(Buffer.from(topic, "latin1")), this.ttlSeconds)) > 0;
  }

  /**
   * Drops the topic's history and starts a new epoch at offset 0: for a fleet that saw the topic's live offsets go
   * backwards (a failover to a replica that had not got the last publishes gives their offsets again).
   */
  async renew(topic: string): Promise<StreamPosition> {
    const keys = this.keys(Buffer.from(topic, "latin1"));
    return { epoch: await this.commands.wsfleetHistoryRenew(...keys, this.nextEpoch(), this.ttlSeconds), offset: 0 };
  }

  /** The three keys of a topic, `wsfleet:<name>:{<topic>}:seq|log|epoch`. */
  private keys(topic: Buffer): [Buffer, Buffer, Buffer] {
    const tag = Buffer.concat([Buffer.from(`wsfleet:${this.name}:{`), topic, Buffer.from("}:")]);
    return [Buffer.concat([tag, SEQ]), Buffer.concat([tag, LOG]), Buffer.concat([tag, EPOCH])];
  }

  private nextEpoch(): string {
    this.epochCount += 1;
    return `${this.epochToken}${this.epochCount.toString(36)}`;
  }
}

const SEQ = Buffer.from("seq");
const LOG = Buffer.from("log");
const EPOCH = Buffer.from("epoch");

function storedMessage([id, fields]: Entry): StoredMessage {
  const idText = id.toString("latin1");
  return {
    offset: Number(idText.slice(0, idText.indexOf("-"))),
    isBinary: fields[0]?.toString("latin1") === BINARY_FIELD,
    payload: fields[1] ?? Buffer.alloc(0),
  };
}
