/**
 * `CollectCall`: a call over an input held in full (`map`, `starmap`,
 * `mapSettled`, `apply`), resolving with every result in input order.
 *
 * @module
 */

import { Call, type CallOptions, closeInput, type Engine } from "./call.ts";

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
