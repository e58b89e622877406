/**
 * `--history <n>`: the contract between the sequencer of a fleet's publishes and the code that recovers subscribers.
 * One sequencer gives each published message of a topic its offset (1, 2, 3, … without a gap) and keeps the topic's
 * last n messages; the topic's epoch is a string that changes whenever that history was lost (the sequencer
 * restarted, or the topic expired after --history-ttl seconds with no publish and no subscriber), so an
 * `{epoch, offset}` from before is never mistaken for a position in the new history.
 *
 * Two stores implement it: the embedded one in the primary's hub (memory, `memory-store.ts`) and Redis
 * (`redis-store.ts`, one Lua call per publish on the topic's own keys, so a Redis Cluster keeps a topic on one shard).
 */

/** Where a subscriber is in a topic: the last offset it has, in that epoch. */
export interface StreamPosition {
  readonly epoch: string;
  readonly offset: number;
}

/** One stored message. */
export interface StoredMessage {
  readonly offset: number;
  readonly payload: Buffer;
  readonly isBinary: boolean;
}

/**
 * The answer to "everything after `since`": either the messages, in offset order, with no gap from `since.offset + 1`
 * to `position.offset`, or `recovered: false` (another epoch, an offset older than the history or beyond the last
 * one, a malformed position) with where the topic is now, so the client can resync from there.
 */
export type Recovery =
  | { readonly recovered: true; readonly position: StreamPosition; readonly messages: readonly StoredMessage[] }
  | { readonly recovered: false; readonly position: StreamPosition };

export interface HistoryStore {
  /** Gives the message the topic's next offset and stores it (the oldest beyond n is dropped). */
  append(topic: string, payload: Buffer, isBinary: boolean): StreamPosition | Promise<StreamPosition>;
  /** Every stored message after `since` (at most `limit`, oldest first), or why it cannot. */
  since(topic: string, since: StreamPosition, limit?: number): Recovery | Promise<Recovery>;
  /** Where the topic is now (offset 0 in a fresh epoch for a topic never published). */
  position(topic: string): StreamPosition | Promise<StreamPosition>;
}
