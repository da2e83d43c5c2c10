/**
 * `Pool`: Python's `multiprocessing.Pool` for Deno, on Web Workers or
 * worker processes.
 *
 * Over 300 lines for a reason: two thirds of it is the documentation of
 * the public methods, each with an example that runs as a test; the code
 * itself checks a call at the door and hands it to the engine.
 *
 * @module
 */

import type { CallOptions, Settled } from "./engine/call.ts";
import { CollectCall } from "./engine/collect_call.ts";
import { StreamCall, StreamIterator } from "./engine/stream_call.ts";
import { Dispatcher } from "./engine/dispatcher.ts";
import { ProcessTransport } from "./transport/process.ts";
import type { FunctionSpec } from "./_protocol.ts";
import type { ApplyOptions, IMapOptions, MapOptions, PoolOptions, Task } from "./options.ts";
import type { TaskPool } from "./task_pool.ts";
import {
  callback,
  checkedSignal,
  describe,
  functionSpec,
  inputKind,
  MIN_IN_FLIGHT,
  poolSettings,
  positiveInteger,
} from "./_validate.ts";

export type { Settled } from "./engine/call.ts";

/** How a method's call passes its items to the task and reports them. */
interface CallShape {
  /** The method's name, for messages. */
  readonly method: string;
  /** Each item is an argument list: `fn(...item)`. */
  readonly spread: boolean;
  /** Every item is reported, failed or not; otherwise the first failure ends the call. */
  readonly settle: boolean;
}

const MAP: CallShape = { method: "map", spread: false, settle: false };
const STARMAP: CallShape = { method: "starmap", spread: true, settle: false };
const MAP_SETTLED: CallShape = { method: "mapSettled", spread: false, settle: true };
const APPLY: CallShape = { method: "apply", spread: true, settle: false };
const IMAP: CallShape = { method: "imap", spread: false, settle: false };
const IMAP_UNORDERED: CallShape = { method: "imapUnordered", spread: false, settle: false };

/**
 * A pool of Web Workers that runs functions in parallel, with the API of
 * Python's `multiprocessing.Pool`.
 *
 * A function is shipped to the workers by its source text, so it must be
 * self-contained: it may use its parameters and globals, not variables from
 * the scope it was written in. Break the rule and the task fails with a
 * `TaskError` whose cause is a `ReferenceError` ("x is not defined"). For
 * code that imports other modules, use a {@linkcode TaskModule}.
 *
 * Items and results cross to the workers by structured clone: numbers,
 * strings, plain objects, arrays, typed arrays, Maps, Sets, Dates and errors
 * do; functions and symbols do not.
 *
 * @example Square numbers on three workers
 * ```ts
 * import { Pool } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * function square(n: number): number {
 *   return n * n;
 * }
 *
 * await using pool = new Pool({ workers: 3 });
 * assert.deepEqual(await pool.map(square, [1, 2, 3, 4, 5]), [1, 4, 9, 16, 25]);
 * ```
 */
export class Pool implements TaskPool {
  #engine: Dispatcher;
  #workers: number;
  /** Each function's spec and id, so a hot loop of calls reads its source once. */
  #known = new WeakMap<object, { spec: FunctionSpec; fnId: number }>();

  /**
   * Starts the workers, one per turn of the event loop: the constructor
   * returns at once, and the first call starts a worker at once if none has
   * started yet. Deno holds the thread that creates a worker until the
   * worker's runtime exists, so starting them all at once would keep the
   * caller, and the first worker's work, waiting for the last one.
   *
   * @throws {RangeError} An option is out of range: `workers`,
   * `maxTasksPerChild` or `maxCrashes` not a positive integer, `workers`
   * over 1,024, `idleTimeout` negative or not a number.
   * @throws {TypeError} `initializer` is not a function or a module task;
   * `initArgs` is not an array, or holds a value that cannot be cloned;
   * `recorder` is not a `Recorder`; `permissions` is not `"none"`,
   * `"inherit"` or an object.
   */
  constructor(options: PoolOptions = {}) {
    const settings = poolSettings(options);
    this.#workers = settings.workers;
    const transport = settings.isolation === "process"
      ? new ProcessTransport({
        permissions: settings.permissions,
        maxOldGenerationSizeMb: settings.maxOldGenerationSizeMb,
      })
      : undefined;
    this.#engine = new Dispatcher({ ...settings, transport });
  }

  /** The number of workers the pool runs. */
  get workers(): number {
    return this.#workers;
  }

  /**
   * Workers started and not yet ended. Right after `new Pool()` it is 0 and
   * it climbs to `workers` as they start; after `join()` it is 0 again, which
   * tests use to prove that no worker leaked.
   */
  get liveWorkers(): number {
    return this.#engine.liveWorkers;
  }

  /**
   * Runs `fn` on every item, in parallel; resolves with the results in input
   * order. The input is read in full first, as Python's `map` does; use
   * {@linkcode Pool.imap} to stream.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ workers: 2 });
   * const lengths = await pool.map((s: string) => s.length, ["a", "bb", "ccc"], { chunkSize: 2 });
   * assert.deepEqual(lengths, [1, 2, 3]);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable;
   * `onProgress` is not a function; `signal` is not an `AbortSignal`.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  map<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions = {},
  ): Promise<R[]> {
    return this.#admit<R>(fn, items, options, MAP);
  }

  /**
   * Like `map`, but each item is an argument list: resolves with
   * `fn(...args)` for each, in input order.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ workers: 2 });
   * const sums = await pool.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]]);
   * assert.deepEqual(sums, [3, 7]);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `argsList` is not iterable;
   * `onProgress` is not a function; `signal` is not an `AbortSignal`.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  starmap<A extends unknown[], R>(
    fn: Task<A, R>,
    argsList: Iterable<A> | AsyncIterable<A>,
    options: MapOptions = {},
  ): Promise<R[]> {
    return this.#admit<R>(fn, argsList, options, STARMAP);
  }

  /**
   * Like `map`, but never rejects for a failed item: resolves with one
   * `{ status, value }` or `{ status, reason }` per item, in input order,
   * as `Promise.allSettled` does. An abort or a closed pool still rejects.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ workers: 2 });
   * const outcomes = await pool.mapSettled((n: number) => {
   *   if (n === 2) throw new Error("two");
   *   return n;
   * }, [1, 2, 3]);
   * assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable;
   * `onProgress` is not a function; `signal` is not an `AbortSignal`.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  mapSettled<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions = {},
  ): Promise<Settled<R>[]> {
    return this.#admit<Settled<R>>(fn, items, options, MAP_SETTLED);
  }

  /**
   * Runs `fn(...args)` once on a worker and resolves with its result.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ workers: 1 });
   * assert.equal(await pool.apply((a: number, b: number) => a * b, [6, 7]), 42);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `args` is not an array;
   * `signal` is not an `AbortSignal`.
   */
  async apply<A extends unknown[], R>(
    fn: Task<A, R>,
    args: A,
    options: ApplyOptions = {},
  ): Promise<R> {
    const spec = this.#specOf(fn);
    if (!Array.isArray(args)) {
      throw new TypeError(
        `Cannot apply the function as "args" must be an array: current value is ${describe(args)}`,
      );
    }
    const signal = checkedSignal(options.signal);
    this.#refuse();
    const call = new CollectCall<R>(
      this.#engine,
      this.#callOptions(spec, fn, { shape: APPLY, signal, onProgress: undefined }),
    );
    call.begin([args], 1);
    const [result] = await call.promise;
    return result;
  }

  /**
   * Runs `fn` on every item and yields the results in input order as they
   * become ready. The call is made at once, as Python's `imap` submits its
   * tasks when called: work starts before the first `next()`. The input is
   * pulled lazily, at most `maxInFlight` items ahead of the consumer, so it
   * may be endless. If the input throws, the results before the failure are
   * yielded first, then the error is thrown. Breaking out of the loop (or
   * `return()`) drops the work left and calls the input's `return()`,
   * waiting for it unless a `next()` on the input is still pending.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * function* naturals() {
   *   for (let n = 1; ; n++) yield n;
   * }
   *
   * await using pool = new Pool({ workers: 2 });
   * const squares: number[] = [];
   * for await (const square of pool.imap((n: number) => n * n, naturals())) {
   *   squares.push(square);
   *   if (squares.length === 4) break;
   * }
   * assert.deepEqual(squares, [1, 4, 9, 16]);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable;
   * `onProgress` is not a function; `signal` is not an `AbortSignal`.
   * @throws {RangeError} `chunkSize` or `maxInFlight` is not a positive integer.
   */
  imap<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: IMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#stream(fn, items, options, IMAP);
  }

  /**
   * Like `imap`, but yields each result as soon as it is ready, in
   * completion order.
   *
   * @example
   * ```ts
   * import { Pool } from "./mod.ts";
   * import assert from "node:assert/strict";
   *
   * await using pool = new Pool({ workers: 2 });
   * const results: number[] = [];
   * for await (const n of pool.imapUnordered((n: number) => n * 10, [1, 2, 3])) results.push(n);
   * assert.deepEqual(results.sort((a, b) => a - b), [10, 20, 30]);
   * ```
   *
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable;
   * `onProgress` is not a function; `signal` is not an `AbortSignal`.
   * @throws {RangeError} `chunkSize` or `maxInFlight` is not a positive integer.
   */
  imapUnordered<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: IMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#stream(fn, items, options, IMAP_UNORDERED);
  }

  /**
   * Stops taking new calls: they reject with `PoolClosedError`. Every call
   * made before runs to completion, a `map` whose input is still being read
   * and a stream not yet read included; then the workers end.
   *
   * A stream computes at most `maxInFlight` results ahead of its reader, so
   * the pool does not wait for a reader that may never come: once the only
   * calls left are streams waiting to be read on, the workers end and
   * `join()` resolves. Reading such a stream on starts workers for it again,
   * and they end when it next waits for its reader, or ends.
   */
  close(): void {
    this.#engine.close();
  }

  /**
   * Ends every worker now. Pending calls reject with `PoolClosedError`.
   * Resolves once the workers are ended.
   */
  async terminate(): Promise<void> {
    this.#engine.terminate();
    await this.#engine.joined();
  }

  /**
   * Resolves when every worker has ended, after `close()` or `terminate()`:
   * after `close()`, once every call made before it has finished, or is a
   * stream waiting for its reader (see `close()`).
   *
   * @throws {DOMException} `InvalidStateError` when the pool is still open.
   */
  async join(): Promise<void> {
    if (this.#engine.state === "open") {
      throw new DOMException(
        "Cannot join the pool as it is still open: call close() or terminate() first",
        "InvalidStateError",
      );
    }
    await this.#engine.joined();
  }

  /** `close()`, then `join()`: what `await using` does when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /**
   * Validates a map-like call and makes it at once, before its input is read:
   * so a call made before `close()` runs even when its input is still being
   * read, and its signal is heeded meanwhile.
   */
  #admit<R>(
    fn: unknown,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapOptions,
    shape: CallShape,
  ): Promise<R[]> {
    let call: CollectCall<R>;
    let kind: "sync" | "async";
    try {
      const spec = this.#specOf(fn);
      if (options.chunkSize !== undefined) positiveInteger("chunkSize", options.chunkSize);
      kind = inputKind(items, shape.method);
      const signal = checkedSignal(options.signal);
      this.#refuse();
      const onProgress = callback("onProgress", options.onProgress);
      call = new CollectCall<R>(
        this.#engine,
        this.#callOptions(spec, fn, {
          shape,
          signal,
          onProgress: onProgress === undefined ? undefined : (done) => onProgress(done, call.total),
        }),
      );
    } catch (error) {
      return Promise.reject(error);
    }
    // Already aborted: the input is not read.
    if (call.finished) return call.promise;
    const chunkSizeFor = (total: number) =>
      options.chunkSize ?? Math.max(1, Math.ceil(total / (4 * this.#workers)));
    if (kind === "async") {
      call.read(items as AsyncIterable<unknown>, chunkSizeFor);
      return call.promise;
    }
    let list: unknown[];
    try {
      list = Array.isArray(items) ? items : Array.from(items as Iterable<unknown>);
    } catch (error) {
      call.fail(error);
      return call.promise;
    }
    call.begin(list, chunkSizeFor(list.length));
    return call.promise;
  }

  /**
   * Validates a stream and makes it at once, as Python's `imap` submits its
   * tasks when called. An argument error or a closed pool rejects the first
   * `next()`, where every other failure of a stream surfaces.
   */
  #stream<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: IMapOptions,
    shape: CallShape,
  ): AsyncIterableIterator<R> {
    let call: StreamCall;
    try {
      const spec = this.#specOf(fn);
      const chunkSize = options.chunkSize ?? 1;
      positiveInteger("chunkSize", chunkSize);
      const maxInFlight = options.maxInFlight ??
        Math.max(MIN_IN_FLIGHT, 4 * this.#workers * chunkSize);
      positiveInteger("maxInFlight", maxInFlight);
      inputKind(items, shape.method);
      const signal = checkedSignal(options.signal);
      this.#refuse();
      call = new StreamCall(this.#engine, {
        ...this.#callOptions(spec, fn, {
          shape,
          signal,
          onProgress: callback("onProgress", options.onProgress),
        }),
        chunkSize,
        ordered: shape === IMAP,
        maxInFlight,
      }, items);
    } catch (error) {
      return refused<R>(error);
    }
    return new StreamIterator<R>(call);
  }

  /** Validates `fn` and returns how workers find it, read once per function. */
  #specOf(fn: unknown): FunctionSpec {
    if (fn !== null && (typeof fn === "function" || typeof fn === "object")) {
      const known = this.#known.get(fn);
      if (known !== undefined) return known.spec;
    }
    const spec = functionSpec(fn, "fn");
    this.#known.set(fn as object, { spec, fnId: this.#engine.fnId(spec) });
    return spec;
  }

  #callOptions(
    spec: FunctionSpec,
    fn: unknown,
    { shape, signal, onProgress }: {
      readonly shape: CallShape;
      readonly signal: AbortSignal | undefined;
      readonly onProgress: ((done: number) => void) | undefined;
    },
  ): CallOptions {
    return {
      fnId: this.#known.get(fn as object)?.fnId ?? this.#engine.fnId(spec),
      taskName: spec.kind === "module" ? spec.exportName : spec.name,
      spread: shape.spread,
      settle: shape.settle,
      signal,
      onProgress,
    };
  }

  #refuse(): void {
    const refusal = this.#engine.refusal();
    if (refusal !== null) throw refusal;
  }
}

/** A stream refused at the door: its first `next()` rejects with `error`, then it is done. */
// deno-lint-ignore require-yield
async function* refused<R>(error: unknown): AsyncGenerator<R, undefined> {
  throw error;
}
