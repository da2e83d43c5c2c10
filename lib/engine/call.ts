/**
 * One call on the pool (`map`, `imap`, ...): the chunks it hands out, the
 * results it gathers, and how it ends. The dispatcher moves chunks between
 * calls and workers; a call never sees a worker.
 *
 * @module
 */

import type { ChunkItems } from "../_protocol.ts";
import { Deque } from "./deque.ts";
import { describeCause, TaskError } from "../errors.ts";
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
   * closing pool does not wait for it (see `Dispatcher.close`).
   */
  get waitsForConsumer(): boolean {
    return false;
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
 *
 * It is made before its input is read, and given the items by `begin()` or
 * `read()`: so the pool counts it from the moment it is called, and an abort
 * or `terminate()` reaches it while its input is still being read.
 */
export class CollectCall<R> extends Call {
  readonly promise: Promise<R[]>;
  /**
   * Made on the first delivery, not up front: a million-element array takes
   * milliseconds to allocate, and the first chunks should be on their way by then.
   */
  #results: unknown[] | null = null;
  #total = 0;
  #remaining = 0;
  #resolve!: (results: R[]) => void;
  #reject!: (error: unknown) => void;
  /** An async input while it is being read; asked to stop if the call ends first. */
  #input: AsyncIterator<unknown> | null = null;

  constructor(engine: Engine, options: CallOptions) {
    super(engine, options);
    this.promise = new Promise<R[]>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (options.signal?.aborted) this.fail(options.signal.reason);
  }

  /** Items in the input: 0 until it has been read. */
  get total(): number {
    return this.#total;
  }

  /** Runs the call on its whole input, in chunks of `chunkSize`; nothing if it has ended. */
  begin(items: unknown[], chunkSize: number): void {
    if (this.finished) return;
    this.chunkSize = chunkSize;
    this.#total = items.length;
    this.#remaining = items.length;
    try {
      if (items.length === 0) this.#complete();
      else this.submitItems(items, 0);
    } catch (error) {
      // The input threw as it was read (a getter at an index, a Proxy): the
      // call fails with it, and its chunks already queued are dropped. A call
      // left unfinished would hold a closing pool open for ever.
      this.fail(error);
    }
  }

  /**
   * Reads an async input in full, then begins with `chunkSizeFor(total)` items
   * a chunk. An input that throws fails the call. Never rejects.
   */
  async read(
    input: AsyncIterable<unknown>,
    chunkSizeFor: (total: number) => number,
  ): Promise<void> {
    const items: unknown[] = [];
    try {
      const iterator = input[Symbol.asyncIterator]();
      this.#input = iterator;
      while (true) {
        const step = await iterator.next();
        // Ended meanwhile (aborted, terminated): `rejectWith` closed the input.
        if (this.finished) return;
        if (step.done) break;
        items.push(step.value);
      }
    } catch (error) {
      // An input that threw has ended itself: it is not asked to return.
      this.#input = null;
      this.fail(error);
      return;
    }
    this.#input = null;
    this.begin(items, chunkSizeFor(items.length));
  }

  deliver(start: number, values: ArrayLike<unknown>): void {
    if (this.finished) return;
    const results = this.#allResults();
    const n = values.length;
    const settle = this.settle;
    if (ArrayBuffer.isView(values)) {
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
    if (this.#input !== null) {
      closeInput(this.#input);
      this.#input = null;
    }
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
  /** Items sent to a worker at a time. */
  readonly chunkSize: number;
  /** `true`: results in input order; `false`: in completion order. */
  readonly ordered: boolean;
  /** Most items taken from the input and not yet handed to the consumer. */
  readonly maxInFlight: number;
}

/**
 * A call that streams (`imap`, `imapUnordered`): it pulls the input only as
 * far as `maxInFlight` items ahead of the consumer, so an endless generator
 * with a slow consumer holds a bounded number of items and results.
 *
 * It starts pulling when it is made, as Python's `imap` submits its tasks
 * when it is called, not when the consumer first asks for a result.
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
  /** `true` once the consumer has had the end or an error, or closed the stream. */
  #closed = false;
  /** Consumers waiting in `next()`; each looks again when woken. */
  #waiting: (() => void)[] = [];
  #wakeFeeder: (() => void) | null = null;
  /** The input, until it ends by itself or is asked to return. */
  #source: Iterator<unknown> | AsyncIterator<unknown> | null = null;
  /** A `next()` on the input has not settled yet. */
  #pulling = false;

  constructor(
    engine: Engine,
    options: StreamOptions,
    input: Iterable<unknown> | AsyncIterable<unknown>,
  ) {
    super(engine, options);
    this.chunkSize = options.chunkSize;
    this.#ordered = options.ordered;
    this.#maxInFlight = options.maxInFlight;
    const refill = Math.max(this.chunkSize, Math.ceil(options.maxInFlight / 2));
    this.#lowWater = Math.max(0, options.maxInFlight - refill);
    if (options.signal?.aborted) {
      this.fail(options.signal.reason);
      return;
    }
    let source: Iterator<unknown> | AsyncIterator<unknown>;
    try {
      source = openInput(input);
    } catch (error) {
      // As for an input that throws later: the consumer gets the error.
      this.#inputError = { error };
      this.#inputDone = true;
      return;
    }
    this.#source = source;
    this.#feed(source);
  }

  /**
   * A closing pool does not wait on a stream whose window is full, or whose
   * input has ended, once its results are in: only its consumer can move it on.
   */
  override get waitsForConsumer(): boolean {
    return this.#wakeFeeder !== null || this.#inputDone;
  }

  /** Pulls the input chunk by chunk while the window has room. */
  async #feed(source: Iterator<unknown> | AsyncIterator<unknown>): Promise<void> {
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
        if (step instanceof Promise) {
          this.#pulling = true;
          try {
            step = await step;
          } finally {
            this.#pulling = false;
          }
        }
        if (this.finished) break;
        if (step === null || typeof step !== "object") {
          // As for-of would: read as an object, it would yield undefined for ever.
          throw new TypeError(
            `Cannot imap as the input's iterator must return objects: it returned ${String(step)}`,
          );
        }
        const { done, value } = step as IteratorResult<unknown>;
        if (done) {
          this.#source = null;
          break;
        }
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
      // error comes after them. An input that threw is not asked to return.
      this.#source = null;
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

  /**
   * The call failed, was aborted or the pool terminated: the consumer gets the
   * error at once, and the input is asked to return without waiting on it.
   */
  protected rejectWith(error: unknown): void {
    this.#failure = { error };
    this.#pending.clear();
    this.#wakeFeeder?.();
    this.#wakeFeeder = null;
    // Nobody waits on it: its outcome has nowhere to go.
    this.#closeSource().catch(() => {});
    this.#wake();
  }

  /**
   * The next result; `done` once the input is exhausted and every result
   * handed out. After an error, or once closed, every call is `done`, as with
   * an async generator.
   */
  async next(): Promise<IteratorResult<unknown, undefined>> {
    while (true) {
      if (this.#closed) return { done: true, value: undefined };
      if (this.#failure !== null) {
        this.#closed = true;
        throw this.#failure.error;
      }
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
          this.#closed = true;
          this.fail(outcome.error);
          throw outcome.error;
        }
        return { done: false, value: outcome.value };
      }
      if (this.#inputDone && this.#consumed === this.#pulled) {
        this.#closed = true;
        if (!this.finished) this.finish();
        if (this.#inputError !== null) throw this.#inputError.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /**
   * The consumer stopped early: drop what is left and close the input.
   * Resolves once the input's `return()` has, unless a `next()` on the input
   * is still pending (see `#closeSource`).
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (!this.finished) this.finish();
    this.#wakeFeeder?.();
    this.#wakeFeeder = null;
    this.#wake();
    await this.#closeSource();
  }

  /**
   * Calls the input's `return()`, once, unless the input has ended by itself.
   * While a `next()` on it is pending, `return()` is not waited for: an async
   * generator's `return()` waits behind that `next()`, which a stalled input
   * never settles.
   */
  #closeSource(): Promise<unknown> {
    const source = this.#source;
    if (source === null) return Promise.resolve();
    this.#source = null;
    if (this.#pulling) {
      closeInput(source);
      return Promise.resolve();
    }
    try {
      return Promise.resolve(source.return?.());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #wake(): void {
    if (this.#waiting.length === 0) return;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/**
 * What `imap` and `imapUnordered` return: the results of a stream made when
 * they were called. Not an async generator: a generator's body, and so its
 * `finally`, runs only from its first `next()`, and a stream's `return()`
 * must end its call even before then.
 */
export class StreamIterator<R> implements AsyncIterableIterator<R> {
  #call: StreamCall;

  constructor(call: StreamCall) {
    this.#call = call;
  }

  /** The next result; see `StreamCall.next`. */
  next(): Promise<IteratorResult<R, undefined>> {
    return this.#call.next() as Promise<IteratorResult<R, undefined>>;
  }

  /** Stops the stream: its work left is dropped and its input asked to return. */
  async return(): Promise<IteratorResult<R, undefined>> {
    await this.#call.close();
    return { done: true, value: undefined };
  }

  /** Stops the stream as `return()` does, then throws `error`, as an async generator would. */
  async throw(error?: unknown): Promise<IteratorResult<R, undefined>> {
    await this.#call.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** `return()`, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.return();
  }
}

/** Opens an input as `for await` would: its async iterator if it has one, else its iterator. */
function openInput(
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
function closeInput(input: Iterator<unknown> | AsyncIterator<unknown>): void {
  try {
    Promise.resolve(input.return?.()).catch(() => {});
  } catch {
    // Thrown at once instead of rejected: dropped all the same.
  }
}

/** A refusal by Deno's permission checks, thrown inside a worker. */
function isPermissionRefusal(cause: unknown): boolean {
  return cause instanceof Error &&
    (cause.name === "NotCapable" || cause.name === "PermissionDenied" ||
      /^Requires \w+ access to /.test(cause.message));
}
