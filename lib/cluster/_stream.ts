/**
 * `imap` and `imapUnordered` of a cluster pool: made when called, as
 * Python's `imap` submits its tasks at once; the input read at most
 * `maxInFlight` items ahead of the reader, each chunk a message.
 *
 * @module
 */

import { closeInput, openInput } from "../engine/call.ts";
import { PoolClosedError } from "../errors.ts";
import { type CallHost, type CallSpec, ClusterCall } from "./_call.ts";
import type { Outcome } from "./_messages.ts";

/** How a stream runs. */
export interface StreamSettings {
  readonly chunkSize: number;
  readonly maxInFlight: number;
  readonly ordered: boolean;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number) => void) | undefined;
}

const ABORTED = Symbol("aborted");
/** What `#read` gives at the input's end, its failure or an abort: items may be `null`. */
const END = Symbol("end");

/**
 * One stream: a pump that reads the input and sends chunks while the
 * window allows, and a reader's side that yields what came back.
 */
export class ClusterStream<R> implements AsyncIterableIterator<R> {
  #settings: StreamSettings;
  #call: ClusterCall;
  #input: Iterator<unknown> | AsyncIterator<unknown>;
  /** Results by index (in order), or in the order they came (unordered, from `#head`). */
  #ready = new Map<number, unknown>();
  #head = 0;
  #arrived = 0;
  #done = 0;
  #taken = 0;
  #yielded = 0;
  #failure: { error: unknown } | null = null;
  #inputFailure: { error: unknown } | null = null;
  #inputDone = false;
  /** Whether a `next()` on the input is pending: closing then does not wait for it. */
  #reading = false;
  /** Set once the reader has had the end or an error, or closed the stream. */
  #closed = false;
  /** Set when the connection is gone: what is not in hand can no longer come. */
  #disconnected = false;
  #wakeReader: (() => void) | null = null;
  #wakePump: (() => void) | null = null;
  #idle: (() => void)[] = [];
  #aborted: Promise<typeof ABORTED>;
  #onAbort: () => void;

  constructor(
    host: CallHost,
    id: string,
    spec: CallSpec,
    items: unknown,
    settings: StreamSettings,
  ) {
    this.#settings = settings;
    let abortWake!: (value: typeof ABORTED) => void;
    this.#aborted = new Promise((resolve) => abortWake = resolve);
    this.#onAbort = () => {
      this.#fail(settings.signal?.reason);
      abortWake(ABORTED);
    };
    this.#input = openInput(items as Iterable<unknown> | AsyncIterable<unknown>);
    this.#call = new ClusterCall(host, id, spec, {
      onOutcomes: (start, outcomes) => this.#take(start, outcomes),
      onError: (error) => this.#fail(error),
    });
    if (settings.signal?.aborted) {
      this.#fail(settings.signal.reason);
      return;
    }
    settings.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#pump();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<R, undefined>> {
    while (!this.#closed) {
      if (this.#failure !== null) {
        const { error } = this.#failure;
        await this.#close();
        throw error;
      }
      const key = this.#settings.ordered ? this.#yielded : this.#head;
      if (this.#ready.has(key)) {
        const value = this.#ready.get(key) as R;
        this.#ready.delete(key);
        if (!this.#settings.ordered) this.#head++;
        this.#yielded++;
        this.#wakePump?.();
        return { done: false, value };
      }
      if (this.#inputDone && this.#yielded === this.#taken) {
        const inputFailure = this.#inputFailure;
        await this.#close();
        if (inputFailure !== null) throw inputFailure.error;
        break;
      }
      if (this.#disconnected) {
        this.#fail(new PoolClosedError("Cannot read on: the pool has ended its connection"));
        continue;
      }
      await new Promise<void>((resolve) => this.#wakeReader = resolve);
    }
    return { done: true, value: undefined };
  }

  /** Stops early: the work left is dropped and the input closed. */
  async return(): Promise<IteratorResult<R, undefined>> {
    await this.#close();
    return { done: true, value: undefined };
  }

  /**
   * Resolves once nothing the stream sent is still running: it waits only
   * for its reader (or has ended). `join()` waits for this.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Whether the reader is done with it: `join()` no longer waits for it. */
  get ended(): boolean {
    return this.#closed;
  }

  /** The pool was terminated: the next read fails with `error`. */
  terminate(error: unknown): void {
    this.#fail(error);
    this.disconnect();
  }

  /** The connection is ending: results in hand can still be read, nothing more. */
  disconnect(): void {
    this.#disconnected = true;
    this.#call.end();
    this.#wake();
  }

  /** Reads the input and sends chunks while the window allows, until the input ends. */
  async #pump(): Promise<void> {
    const { chunkSize, maxInFlight } = this.#settings;
    while (!this.#inputDone && !this.#stopped()) {
      if (this.#taken - this.#yielded >= maxInFlight) {
        this.#wake();
        await new Promise<void>((resolve) => this.#wakePump = resolve);
        this.#wakePump = null;
        continue;
      }
      const batch: unknown[] = [];
      while (batch.length < chunkSize && this.#taken - this.#yielded + batch.length < maxInFlight) {
        const item = await this.#read();
        if (item === END) break;
        batch.push(item);
      }
      if (batch.length > 0 && !this.#stopped()) {
        this.#call.send(batch, this.#taken);
        this.#taken += batch.length;
      }
    }
    this.#wake();
  }

  /** The next item, or `END` at the input's end, its failure, or an abort. */
  async #read(): Promise<unknown> {
    let step: IteratorResult<unknown> | typeof ABORTED;
    this.#reading = true;
    try {
      step = await Promise.race([this.#input.next(), this.#aborted]);
    } catch (error) {
      this.#inputFailure = { error };
      this.#inputDone = true;
      return END;
    } finally {
      this.#reading = false;
    }
    if (step === ABORTED || this.#stopped()) return END;
    if (step.done) {
      this.#inputDone = true;
      return END;
    }
    return step.value;
  }

  #take(start: number, outcomes: Outcome[]): void {
    for (const outcome of outcomes) {
      if (!outcome.ok) {
        this.#failure ??= { error: this.#call.error(start, outcome) };
        this.#done++;
        continue;
      }
      const { values } = outcome;
      for (let i = 0; i < values.length; i++) {
        const key = this.#settings.ordered ? start + outcome.offset + i : this.#arrived++;
        this.#ready.set(key, values[i]);
      }
      this.#done += values.length;
    }
    try {
      this.#settings.onProgress?.(this.#done);
    } catch (error) {
      this.#failure ??= { error };
    }
    this.#wake();
  }

  #fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake();
  }

  #stopped(): boolean {
    return this.#closed || this.#failure !== null || this.#disconnected;
  }

  #isIdle(): boolean {
    const running = this.#taken - this.#done;
    return this.#closed || this.#failure !== null || this.#disconnected ||
      (running === 0 &&
        (this.#inputDone || this.#taken - this.#yielded >= this.#settings.maxInFlight));
  }

  #wake(): void {
    const reader = this.#wakeReader;
    this.#wakeReader = null;
    reader?.();
    this.#wakePump?.();
    if (this.#idle.length > 0 && this.#isIdle()) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#settings.signal?.removeEventListener("abort", this.#onAbort);
    this.#call.end();
    this.#ready.clear();
    this.#wake();
    if (this.#inputDone || this.#inputFailure !== null) return;
    this.#inputDone = true;
    // A pending next() on a stalled input would hold return() for ever.
    if (this.#reading) closeInput(this.#input);
    else await this.#input.return?.();
  }
}
