/**
 * `StreamCall` and its `StreamIterator`: a call that streams (`imap`,
 * `imapUnordered`), pulling its input only as far ahead of its consumer as
 * its window allows. The two share one state (the window, the outcomes
 * waiting, the input being pulled), so they stay in one file.
 *
 * @module
 */

import { Call, type CallOptions, closeInput, type Engine, openInput } from "./call.ts";
import { Deque } from "./deque.ts";

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
