/**
 * One call on the pool (`map`, `imap`, ...), in what every kind shares: the
 * chunks it hands out, the results it takes back, and how it ends. The kinds
 * are in `collect_call.ts` and `stream_call.ts`. A call reaches the pool only
 * through {@linkcode Engine}, which moves chunks between calls and workers; a
 * call never sees a worker.
 *
 * @module
 */

import type { ChunkItems, ChunkResult, ItemError } from "../_protocol.ts";
import { describeCause, TaskError } from "../errors.ts";
import { reviveError } from "../_wire.ts";
import { pack } from "../_wire.ts";

/** Consecutive items of one call, handed to one worker at a time. */
export interface Chunk {
  readonly id: number;
  readonly call: Call;
  /** Index in the call's input of `items[0]`. */
  readonly start: number;
  /** The chunk's own copy of its items: numbers packed (see `pack`), anything else in an array. */
  readonly items: ChunkItems;
  /** How many workers died while running this chunk's first item. */
  crashes: number;
  /** Its slot in the claim buffer of the worker holding it, and the tag there (see `RunChunk`). */
  slot: number;
  tag: number;
}

/** What a call sees of the pool: `Dispatcher` is the one that runs it. */
export interface Engine {
  /** Starts tracking a call, so that terminating the pool can reach it. */
  track(call: Call): void;
  /** Queues a chunk to run. */
  submit(chunk: Chunk): void;
  /** The call has its outcome: its chunks still queued are skipped. */
  release(call: Call): void;
  /** The call was aborted: drop its chunks and end the workers busy with them. */
  abort(call: Call): void;
  /** A fresh pool-wide chunk id. */
  nextChunkId(): number;
}

/** How a call runs its function and reports its items. */
export interface CallOptions {
  readonly fnId: number;
  /** Name of the task function, for error messages. */
  readonly taskName: string;
  /** `true`: each item is an argument list. */
  readonly spread: boolean;
  /** `true`: every item is reported, failed or not; `false`: the first failure ends the call. */
  readonly settle: boolean;
  readonly signal: AbortSignal | undefined;
  /** Called after each delivery with the number of items finished so far. */
  readonly onProgress: ((done: number) => void) | undefined;
}

/** The outcome of one item, as `Promise.allSettled` reports it. */
export type Settled<R> =
  | { readonly status: "fulfilled"; readonly value: R }
  | { readonly status: "rejected"; readonly reason: unknown };

/** State shared by every kind of call: identity, cancellation, results, error shaping. */
export abstract class Call {
  readonly fnId: number;
  readonly spread: boolean;
  readonly settle: boolean;
  /** Set once the call has its outcome; its remaining chunks are then dropped. */
  finished = false;
  protected readonly engine: Engine;
  /** Items per chunk: a stream's is set when it is made, a collect call's once its input is read. */
  protected chunkSize = 1;
  #taskName: string;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #onProgress: ((done: number) => void) | undefined;
  #done = 0;

  constructor(engine: Engine, options: CallOptions) {
    this.engine = engine;
    this.fnId = options.fnId;
    this.spread = options.spread;
    this.settle = options.settle;
    this.#taskName = options.taskName;
    this.#signal = options.signal;
    this.#onProgress = options.onProgress;
    if (this.#signal !== undefined) {
      this.#onAbort = () => {
        if (this.finished) return;
        this.finish();
        this.engine.abort(this);
        this.rejectWith(this.#signal?.reason);
      };
      this.#signal.addEventListener("abort", this.#onAbort, { once: true });
    }
    // Tracked last: a call that threw while it was made was never tracked,
    // and cannot hold a closing pool open.
    engine.track(this);
  }

  /**
   * `true` while the call can make no progress until its consumer reads on: a
   * closing pool does not wait for it (see `Lifecycle.idle`).
   */
  get waitsForConsumer(): boolean {
    return false;
  }

  /** Results for items `start ..< start + values.length` of the input, in order. */
  abstract deliver(start: number, values: ArrayLike<unknown>): void;

  /** One item failed for good: in settle mode it is recorded, otherwise the call fails. */
  abstract itemFailed(index: number, error: unknown): void;

  /**
   * Takes what a worker reported for the first `count` items of `chunk`:
   * results are delivered, and each item that threw fails with a
   * `TaskError`, in input order.
   */
  receive(chunk: Chunk, [, values, errors]: ChunkResult, count: number, workerId: number): void {
    if (this.finished) return;
    if (errors === null) {
      if (count > 0) {
        this.deliver(chunk.start, count === values.length ? values : slice(values, 0, count));
      }
      return;
    }
    const ordered = [...errors].sort((a, b) => a.index - b.index);
    let from = 0;
    for (const item of ordered) {
      if (item.index >= count) break;
      if (item.index > from) this.deliver(chunk.start + from, slice(values, from, item.index));
      const index = chunk.start + item.index;
      this.itemFailed(index, this.#taskError(index, item, workerId));
      if (this.finished) return;
      from = item.index + 1;
    }
    if (from < count) this.deliver(chunk.start + from, slice(values, from, count));
  }

  /** Ends the call with `error` unless it already ended. */
  fail(error: unknown): void {
    if (this.finished) return;
    this.finish();
    this.rejectWith(error);
  }

  /** Hands `error` to whoever waits on the call. */
  protected abstract rejectWith(error: unknown): void;

  /** Marks the call finished and lets go of the abort listener. */
  protected finish(): void {
    this.finished = true;
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener("abort", this.#onAbort);
      this.#onAbort = undefined;
    }
    this.engine.release(this);
  }

  /**
   * Counts finished items for the progress hook. The hook runs inside the
   * handler of a worker's message, where an error that escaped would end the
   * program: the call fails with it instead, so the caller sees it where it
   * waits. Callers check `finished` afterwards.
   */
  protected progress(count: number): void {
    this.#done += count;
    if (this.#onProgress === undefined) return;
    try {
      this.#onProgress(this.#done);
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * Splits `items` (taken from the input from `start` on) into chunks and
   * submits them. Each chunk copies its items, so changes to the input after
   * the call do not reach the workers.
   */
  protected submitItems(items: unknown[], start: number): void {
    const size = this.chunkSize;
    for (let offset = 0; offset < items.length; offset += size) {
      const end = Math.min(offset + size, items.length);
      this.engine.submit({
        id: this.engine.nextChunkId(),
        call: this,
        start: start + offset,
        items: (this.spread ? null : pack(items, offset, end)) ?? items.slice(offset, end),
        crashes: 0,
        slot: -1,
        tag: 0,
      });
    }
  }

  /** Builds the error for a task that threw, naming the item and the function. */
  #taskError(index: number, item: ItemError, workerId: number): TaskError {
    const cause = reviveError(item.error);
    const what = `Task ${index}${this.#taskName ? ` (${this.#taskName})` : ""}`;
    const detail = describeCause(cause);
    const message = item.unsendable === true
      ? `${what} returned a value that cannot be sent back from its worker: ${detail}`
      : cause instanceof ReferenceError
      ? `${what} failed: ${detail} (a function run in a worker must be self-contained: ` +
        `it may use its parameters and globals, not variables of the scope it was written in)`
      : isPermissionRefusal(cause)
      ? `${what} failed: ${detail} (workers have no permissions unless the pool grants them: ` +
        `see the "permissions" option of Pool)`
      : `${what} failed: ${detail}`;
    return new TaskError(message, { cause, index, workerId, taskName: this.#taskName });
  }
}

/** Opens an input as `for await` would: its async iterator if it has one, else its iterator. */
export function openInput(
  input: Iterable<unknown> | AsyncIterable<unknown>,
): Iterator<unknown> | AsyncIterator<unknown> {
  return typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function"
    ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]()
    : (input as Iterable<unknown>)[Symbol.iterator]();
}

/**
 * Asks an input to stop without waiting for it: an async generator's
 * `return()` waits behind a pending `next()`, which a stalled input never
 * settles. A failure of `return()` has nowhere to go and is dropped.
 */
export function closeInput(input: Iterator<unknown> | AsyncIterator<unknown>): void {
  try {
    Promise.resolve(input.return?.()).catch(() => {});
  } catch {
    // Thrown at once instead of rejected: dropped all the same.
  }
}

function slice(values: ChunkItems, from: number, to: number): ChunkItems {
  return ArrayBuffer.isView(values) ? values.subarray(from, to) : values.slice(from, to);
}

/** A refusal by Deno's permission checks, thrown inside a worker. */
function isPermissionRefusal(cause: unknown): boolean {
  return cause instanceof Error &&
    (cause.name === "NotCapable" || cause.name === "PermissionDenied" ||
      /^Requires \w+ access to /.test(cause.message));
}
