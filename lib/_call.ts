/**
 * One call on the pool (`map`, `imap`, ...): the chunks it hands out, the
 * results it gathers, and how it ends. The dispatcher moves chunks between
 * calls and workers; a call never sees a worker.
 *
 * @module
 */

import type { ChunkItems } from "./_protocol.ts";
import { Deque } from "./_queue.ts";
import { describeCause, TaskError } from "./errors.ts";

/** Consecutive items of one call, handed to one worker at a time. */
export interface Chunk {
  readonly id: number;
  readonly call: Call;
  /** Index in the call's input of `items[0]`. */
  readonly start: number;
  /** The chunk's own copy of its items: numbers packed, anything else in an array. */
  readonly items: ChunkItems;
  /** How many workers died while running this chunk's first item. */
  crashes: number;
  /** Its slot in the claim buffer of the worker holding it, and the tag there (see `RunChunk`). */
  slot: number;
  tag: number;
}

/** What a call needs from the dispatcher. */
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
  readonly chunkSize: number;
  readonly signal: AbortSignal | undefined;
  /** Called after each delivery with the number of items finished so far. */
  readonly onProgress: ((done: number) => void) | undefined;
}

/** The outcome of one item, as `Promise.allSettled` reports it. */
export type Settled<R> =
  | { readonly status: "fulfilled"; readonly value: R }
  | { readonly status: "rejected"; readonly reason: unknown };

/** State shared by every kind of call: identity, cancellation, error shaping. */
export abstract class Call {
  readonly fnId: number;
  readonly spread: boolean;
  readonly settle: boolean;
  /** Set once the call has its outcome; its remaining chunks are then dropped. */
  finished = false;
  protected readonly engine: Engine;
  protected readonly chunkSize: number;
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
    this.chunkSize = options.chunkSize;
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

  /** Results for items `start ..< start + values.length` of the input, in order. */
  abstract deliver(start: number, values: ArrayLike<unknown>): void;

  /** One item failed for good: in settle mode it is recorded, otherwise the call fails. */
  abstract itemFailed(index: number, error: unknown): void;

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

  /** Builds the error for a task that threw, naming the item and the function. */
  taskError(index: number, cause: unknown, workerId: number, unsendable = false): TaskError {
    const what = `Task ${index}${this.#taskName ? ` (${this.#taskName})` : ""}`;
    const detail = describeCause(cause);
    const message = unsendable
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
}

/**
 * A call over an input held in full (`map`, `starmap`, `mapSettled`,
 * `apply`): every chunk is queued at once, and the call resolves with every
 * result in input order.
 */
export class CollectCall<R> extends Call {
  readonly promise: Promise<R[]>;
  /**
   * Made on the first delivery, not up front: a million-element array takes
   * milliseconds to allocate, and the first chunks should be on their way by then.
   */
  #results: unknown[] | null = null;
  #total: number;
  #remaining: number;
  #resolve!: (results: R[]) => void;
  #reject!: (error: unknown) => void;

  constructor(engine: Engine, options: CallOptions, items: unknown[]) {
    super(engine, options);
    this.#total = items.length;
    this.#remaining = items.length;
    this.promise = new Promise<R[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    try {
      if (options.signal?.aborted) {
        this.fail(options.signal.reason);
      } else if (items.length === 0) {
        this.#complete();
      } else {
        this.submitItems(items, 0);
      }
    } catch (error) {
      // The input threw as it was read (a getter at an index, a Proxy): the
      // call fails with it, and its chunks already queued are dropped. A call
      // left unfinished would hold a closing pool open for ever.
      this.fail(error);
    }
  }

  deliver(start: number, values: ArrayLike<unknown>): void {
    if (this.finished) return;
    const results = this.#allResults();
    const n = values.length;
    const settle = this.settle;
    if (values instanceof Float64Array) {
      for (let i = 0; i < n; i++) {
        results[start + i] = settle ? { status: "fulfilled", value: values[i] } : values[i];
      }
    } else {
      for (let i = 0; i < n; i++) {
        // A hole stays a hole, as in Array.prototype.map.
        if (!(i in values)) continue;
        results[start + i] = settle ? { status: "fulfilled", value: values[i] } : values[i];
      }
    }
    this.#remaining -= n;
    this.progress(n);
    if (this.#remaining === 0 && !this.finished) this.#complete();
  }

  itemFailed(index: number, error: unknown): void {
    if (this.finished) return;
    if (!this.settle) return this.fail(error);
    this.#allResults()[index] = { status: "rejected", reason: error };
    this.#remaining--;
    this.progress(1);
    if (this.#remaining === 0 && !this.finished) this.#complete();
  }

  protected rejectWith(error: unknown): void {
    this.#results = null;
    this.#reject(error);
  }

  #allResults(): unknown[] {
    return this.#results ??= new Array(this.#total);
  }

  #complete(): void {
    this.finish();
    this.#resolve(this.#allResults() as R[]);
  }
}

type Outcome = { readonly ok: true; readonly value: unknown } | {
  readonly ok: false;
  readonly error: unknown;
};

/** How a stream pulls its input and hands out results. */
export interface StreamOptions extends CallOptions {
  /** `true`: results in input order; `false`: in completion order. */
  readonly ordered: boolean;
  /** Most items taken from the input and not yet handed to the consumer. */
  readonly maxInFlight: number;
}

/**
 * A call that streams (`imap`, `imapUnordered`): it pulls the input only as
 * far as `maxInFlight` items ahead of the consumer, so an endless generator
 * with a slow consumer holds a bounded number of items and results.
 */
export class StreamCall extends Call {
  #ordered: boolean;
  #maxInFlight: number;
  /** A full window is refilled once this few items are left in flight. */
  #lowWater: number;
  /** Items pulled from the input so far. */
  #pulled = 0;
  /** Items handed to the consumer so far. */
  #consumed = 0;
  #inputDone = false;
  #inputError: { error: unknown } | null = null;
  /** Ordered mode: outcomes waiting for their turn, by input index. */
  #pending = new Map<number, Outcome>();
  /** Unordered mode: outcomes in arrival order. */
  #arrived = new Deque<Outcome>();
  #failure: { error: unknown } | null = null;
  #wakeConsumer: (() => void) | null = null;
  #wakeFeeder: (() => void) | null = null;
  #source: Iterator<unknown> | AsyncIterator<unknown>;

  constructor(
    engine: Engine,
    options: StreamOptions,
    source: Iterable<unknown> | AsyncIterable<unknown>,
  ) {
    // Before the call is made and tracked: an input whose iterator cannot be
    // had must not leave behind a call that holds a closing pool open.
    const iterator = Symbol.asyncIterator in source
      ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (source as Iterable<unknown>)[Symbol.iterator]();
    super(engine, options);
    this.#ordered = options.ordered;
    this.#maxInFlight = options.maxInFlight;
    const refill = Math.max(this.chunkSize, Math.ceil(options.maxInFlight / 2));
    this.#lowWater = Math.max(0, options.maxInFlight - refill);
    this.#source = iterator;
    if (options.signal?.aborted) this.fail(options.signal.reason);
    else this.#feed();
  }

  /** Pulls the input chunk by chunk while the window has room. */
  async #feed(): Promise<void> {
    const source = this.#source;
    let batch: unknown[] = [];
    let batchStart = 0;
    try {
      while (!this.finished) {
        if (this.#pulled - this.#consumed >= this.#maxInFlight) {
          // Flush what was pulled so the consumer can make progress, then wait.
          if (batch.length > 0) {
            this.submitItems(batch, batchStart);
            batch = [];
          }
          await new Promise<void>((resolve) => this.#wakeFeeder = resolve);
          continue;
        }
        let step = source.next();
        if (step instanceof Promise) step = await step;
        if (this.finished) break;
        if (step === null || typeof step !== "object") {
          // As for-of would: read as an object, it would yield undefined for ever.
          throw new TypeError(
            `Cannot imap as the input's iterator must return objects: it returned ${String(step)}`,
          );
        }
        const { done, value } = step as IteratorResult<unknown>;
        if (done) break;
        if (batch.length === 0) batchStart = this.#pulled;
        batch.push(value);
        this.#pulled++;
        if (batch.length === this.chunkSize) {
          this.submitItems(batch, batchStart);
          batch = [];
        }
      }
    } catch (error) {
      // Results of the items before the failure are still delivered; the
      // error comes after them.
      this.#inputError = { error };
    }
    if (batch.length > 0 && !this.finished) this.submitItems(batch, batchStart);
    this.#inputDone = true;
    this.#wake();
  }

  deliver(start: number, values: ArrayLike<unknown>): void {
    if (this.finished) return;
    for (let i = 0; i < values.length; i++) {
      const outcome: Outcome = { ok: true, value: values[i] };
      if (this.#ordered) this.#pending.set(start + i, outcome);
      else this.#arrived.push(outcome);
    }
    this.progress(values.length);
    this.#wake();
  }

  itemFailed(index: number, error: unknown): void {
    if (this.finished) return;
    const outcome: Outcome = { ok: false, error };
    if (this.#ordered) this.#pending.set(index, outcome);
    else this.#arrived.push(outcome);
    this.progress(1);
    this.#wake();
  }

  protected rejectWith(error: unknown): void {
    this.#failure = { error };
    this.#pending.clear();
    this.#wake();
  }

  /** The next result; `done` once the input is exhausted and every result handed out. */
  async next(): Promise<IteratorResult<unknown, undefined>> {
    while (true) {
      if (this.#failure !== null) throw this.#failure.error;
      const outcome = this.#ordered ? this.#pending.get(this.#consumed) : this.#arrived.shift();
      if (outcome !== undefined) {
        if (this.#ordered) this.#pending.delete(this.#consumed);
        this.#consumed++;
        // Refill in chunks, not an item at a time: wake the feeder once the
        // window has drained to its low-water mark.
        if (this.#wakeFeeder !== null && this.#pulled - this.#consumed <= this.#lowWater) {
          this.#wakeFeeder();
          this.#wakeFeeder = null;
        }
        if (!outcome.ok) {
          this.fail(outcome.error);
          throw outcome.error;
        }
        return { done: false, value: outcome.value };
      }
      if (this.#inputDone && this.#consumed === this.#pulled) {
        this.finish();
        if (this.#inputError !== null) throw this.#inputError.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => this.#wakeConsumer = resolve);
    }
  }

  /** The consumer stopped early: drop what is left and close the input. */
  async close(): Promise<void> {
    if (!this.finished) this.finish();
    this.#wakeFeeder?.();
    this.#wakeFeeder = null;
    await this.#source.return?.();
  }

  #wake(): void {
    this.#wakeConsumer?.();
    this.#wakeConsumer = null;
  }
}

/** Below this many numbers a plain array is cheaper to send than a packed one. */
const PACK_MIN = 8;
/**
 * From this many numbers up, a chunk is packed in shared memory, which a
 * message hands over without copying.
 */
const SHARE_MIN = 4096;

/**
 * `items[from ..< to]` packed in a Float64Array when every one is a number,
 * else `null`. Packed numbers cost the structured clone a copy of bytes
 * instead of a walk over the items, on the way out and back.
 */
function pack(items: unknown[], from: number, to: number): Float64Array | null {
  const n = to - from;
  if (n < PACK_MIN) return null;
  const numbers = n < SHARE_MIN
    ? new Float64Array(n)
    : new Float64Array(new SharedArrayBuffer(8 * n));
  for (let i = from; i < to; i++) {
    // A hole reads as undefined, so an input with holes stays an array.
    const item = items[i];
    if (typeof item !== "number") return null;
    numbers[i - from] = item;
  }
  return numbers;
}

/** A refusal by Deno's permission checks, thrown inside a worker. */
function isPermissionRefusal(cause: unknown): boolean {
  return cause instanceof Error &&
    (cause.name === "NotCapable" || cause.name === "PermissionDenied" ||
      /^Requires \w+ access to /.test(cause.message));
}
