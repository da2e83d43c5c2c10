/**
 * One call of a cluster pool, on the caller's side: its chunks on the
 * stream, by chunk number, until each one's result has come back once.
 *
 * @module
 */

import type { FunctionSpec } from "../_protocol.ts";
import { describeCause, TaskError, WorkerCrashedError } from "../errors.ts";
import { reviveError } from "../_wire.ts";
import type { Recorder } from "../recorder.ts";
import { type ChunkMessage, encode, type NodeRequest, type Outcome } from "./_messages.ts";

/** What a call needs from its pool. */
export interface CallHost {
  /** The pool's inbox, where nodes ask and answer. */
  readonly inbox: string;
  /** Publishes a chunk (de-duplicated by its id); resolves with its stream sequence. */
  publish(id: string, bytes: Uint8Array): Promise<number>;
  /** Deletes a queued chunk by its sequence; never rejects. */
  forget(seq: number): void;
  /** Makes the call reachable from the inbox, under its id. */
  register(call: ClusterCall): void;
  /** Takes it away again. */
  unregister(call: ClusterCall): void;
  /** Remembers which chunk a stream sequence holds, or forgets it (`chunk` -1). */
  track(seq: number, call: ClusterCall, chunk: number): void;
  /** Records each chunk's node and times, when the pool has a recorder. */
  readonly recorder: Recorder | undefined;
}

/** What a call runs. */
export interface CallSpec {
  readonly fn: FunctionSpec;
  readonly spread: boolean;
  readonly taskName: string;
}

interface Sent {
  readonly start: number;
  /** The chunk's stream sequence once the server has stored it. */
  seq: number | undefined;
}

/**
 * A call's chunks in flight. Each chunk's result is taken once, the first
 * time it arrives: a chunk that ran twice (its node's lease lapsed) answers
 * twice, and the second answer finds the chunk gone.
 */
export class ClusterCall {
  readonly id: string;
  #host: CallHost;
  #spec: CallSpec;
  #chunks = new Map<number, Sent>();
  #next = 0;
  #ended = false;
  #onOutcomes: (start: number, outcomes: Outcome[]) => void;
  #onError: (error: unknown) => void;

  constructor(
    host: CallHost,
    id: string,
    spec: CallSpec,
    handlers: {
      onOutcomes: (start: number, outcomes: Outcome[]) => void;
      onError: (error: unknown) => void;
    },
  ) {
    this.#host = host;
    this.id = id;
    this.#spec = spec;
    this.#onOutcomes = handlers.onOutcomes;
    this.#onError = handlers.onError;
    host.register(this);
  }

  /** Publishes `items` as the next chunk, the first of them item `start` of the call. */
  send(items: unknown[], start: number): void {
    const chunk = this.#next++;
    const message: ChunkMessage = {
      call: this.id,
      chunk,
      reply: this.#host.inbox,
      fn: this.#spec.fn,
      spread: this.#spec.spread,
      items,
    };
    let bytes: Uint8Array;
    try {
      bytes = encode(message);
    } catch (error) {
      this.#onError(
        new TypeError(
          `Cannot send items ${start} to ${start + items.length - 1} to the cluster: ${
            describeCause(error)
          }`,
          { cause: error },
        ),
      );
      return;
    }
    const sent: Sent = { start, seq: undefined };
    this.#chunks.set(chunk, sent);
    this.#host.publish(`${this.#host.inbox}.${this.id}.${chunk}`, bytes).then(
      (seq) => {
        // Ended while the publish was on its way: the chunk is no longer wanted.
        if (this.#ended || !this.#chunks.has(chunk)) {
          this.#host.forget(seq);
        } else {
          sent.seq = seq;
          this.#host.track(seq, this, chunk);
        }
      },
      (error) => this.#onError(error),
    );
  }

  /** Whether a node should still run `chunk`. */
  wants(chunk: number): boolean {
    return !this.#ended && this.#chunks.has(chunk);
  }

  /** Takes a chunk's result, unless it was taken before. */
  deliver(result: NodeRequest & { type: "result" }): void {
    const sent = this.#chunks.get(result.chunk);
    if (this.#ended || sent === undefined) return;
    this.#chunks.delete(result.chunk);
    if (sent.seq !== undefined) this.#host.track(sent.seq, this, -1);
    const recorder = this.#host.recorder;
    if (recorder !== undefined) {
      const { start } = sent;
      const last = start + result.outcomes.length - 1;
      try {
        recorder.record(
          `node ${result.node}`,
          result.start,
          result.end,
          last === start ? `${start}` : `${start}..${last}`,
        );
      } catch (error) {
        this.#onError(error);
        return;
      }
    }
    this.#onOutcomes(sent.start, result.outcomes);
  }

  /**
   * The stream gave up on `chunk` after `deliveries` deliveries: its first
   * item fails as a task that killed its workers would.
   */
  lost(chunk: number, deliveries: number): void {
    const sent = this.#chunks.get(chunk);
    if (this.#ended || sent === undefined) return;
    this.#chunks.delete(chunk);
    const error = new Error(
      `the chunk was delivered ${deliveries} times and no node finished it (each died or stopped renewing its lease)`,
    );
    this.#onOutcomes(sent.start, [{
      offset: 0,
      ok: false,
      kind: "lost",
      error: {
        type: "Error",
        name: "Error",
        message: error.message,
        stack: error.stack,
        props: {},
      },
      workerId: 0,
    }]);
  }

  /** Ends the call: its queued chunks are deleted from the stream by sequence, its answers ignored. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#host.unregister(this);
    for (const sent of this.#chunks.values()) {
      if (sent.seq === undefined) continue;
      this.#host.forget(sent.seq);
      this.#host.track(sent.seq, this, -1);
    }
    this.#chunks.clear();
  }

  /** The error for a failed item, as a local pool would give it. */
  error(start: number, outcome: Outcome & { ok: false }): Error {
    const cause = reviveError(outcome.error);
    const index = start + outcome.offset;
    const name = this.#spec.taskName;
    const what = `Task ${index}${name ? ` (${name})` : ""}`;
    const detail = describeCause(cause);
    const workerId = outcome.workerId;
    if (outcome.kind === "crash" || outcome.kind === "lost") {
      const how = outcome.kind === "crash" ? "killed the workers of a node" : "was given up";
      return new WorkerCrashedError(`${what} ${how}: ${detail}`, {
        workerId,
        index,
        cause,
      });
    }
    const message = outcome.kind === "refused"
      ? `${what} was refused by a node: ${detail}`
      : cause instanceof ReferenceError
      ? `${what} failed: ${detail} (a function run in a worker must be self-contained: ` +
        `it may use its parameters and globals, not variables of the scope it was written in)`
      : `${what} failed: ${detail}`;
    return new TaskError(message, { cause, index, workerId, taskName: name });
  }
}
