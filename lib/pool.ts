/**
 * `Pool`: Python's `multiprocessing.Pool` for Deno, on Web Workers.
 *
 * @module
 */

import type { CallOptions, Settled } from "./engine/call.ts";
import { CollectCall } from "./engine/collect_call.ts";
import { StreamCall, StreamIterator } from "./engine/stream_call.ts";
import { Dispatcher } from "./engine/dispatcher.ts";
import type { FunctionSpec } from "./_protocol.ts";
import { ModuleTask } from "./module_task.ts";
import { describeCause } from "./errors.ts";
import { Recorder } from "./recorder.ts";

export type { Settled } from "./engine/call.ts";

/**
 * What a pool can run: a self-contained function, shipped to the workers by
 * its source, or a {@linkcode ModuleTask} that they import.
 */
export type Task<A extends unknown[], R> =
  | ((...args: A) => R | PromiseLike<R>)
  | ModuleTask<(...args: A) => R | PromiseLike<R>>;

/** Options for {@linkcode Pool}. */
export interface PoolOptions {
  /**
   * Number of workers, at most 1,024.
   * @default {navigator.hardwareConcurrency}
   */
  readonly workers?: number;
  /** Runs once in each worker before its first task; it may set up per-worker state. */
  readonly initializer?: Task<unknown[], unknown>;
  /**
   * Arguments for `initializer`.
   * @default {[]}
   */
  readonly initArgs?: readonly unknown[];
  /**
   * A worker is replaced after running this many tasks (chunks, as in
   * Python's `maxtasksperchild`).
   * @default {Infinity}
   */
  readonly maxTasksPerChild?: number;
  /**
   * A task that has killed this many workers fails with `WorkerCrashedError`
   * instead of being tried again.
   * @default {3}
   */
  readonly maxCrashes?: number;
  /**
   * Idle workers end after this many ms and start again when work arrives.
   * An idle Web Worker keeps a Deno program alive, so this is what lets a
   * program that never calls `close()` exit. `Infinity` keeps them.
   * @default {1000}
   */
  readonly idleTimeout?: number;
  /**
   * When given, every chunk's worker, items and start and end times are
   * recorded in it. If its `chunk` method throws (a subclass's), the call
   * whose chunk it was recording rejects with what it threw.
   */
  readonly recorder?: Recorder;
  /**
   * What the workers, and so the tasks, may reach. `"none"` gives them no
   * file, network, environment, subprocess, FFI or system access even when
   * the program holds it; an object grants each kind as Deno's
   * `--allow-*` flags do (`{ read: ["./data"], net: ["127.0.0.1"] }`);
   * `"inherit"` gives them the program's own permissions.
   *
   * Anything but `"inherit"` uses Deno's `deno.permissions` worker option,
   * which needs the `worker-options` unstable feature
   * (`"unstable": ["worker-options"]` in `deno.json`, or
   * `--unstable-worker-options`). Without it Deno ends the program when the
   * first worker starts, and offers no way to ask beforehand.
   *
   * Permissions that the program does not hold, or an object of a shape
   * Deno rejects, make Deno refuse to start the workers: every call then
   * rejects with a `WorkerInitError` whose cause is Deno's error.
   *
   * @default {"none"}
   */
  readonly permissions?: WorkerPermissions;
}

/**
 * Permissions for a pool's workers: see {@linkcode PoolOptions.permissions}.
 */
export type WorkerPermissions = "none" | "inherit" | Deno.PermissionOptionsObject;

/**
 * Most workers a pool may have. The pool starts them all, busy or not, and
 * each is a thread with a V8 heap of its own (8 MB idle, on Deno 2.9.6): a
 * mistyped count of a million would start threads until the process ran out
 * of memory and ended.
 */
const MAX_WORKERS = 1024;

/** Items `imap` keeps in flight by default, at the least: about a round trip's worth of tiny tasks. */
const MIN_IN_FLIGHT = 256;

/** Options for `map`, `starmap` and `mapSettled`. */
export interface MapOptions {
  /**
   * Items sent to a worker at a time.
   * @default {Math.ceil(items / (4 * workers))}
   */
  readonly chunkSize?: number;
  /**
   * Aborting rejects the call with the signal's reason at once, even while
   * its input is still being read, and stops its work.
   */
  readonly signal?: AbortSignal;
  /**
   * Called as items finish, with the count finished and the total. If it
   * throws, the call rejects with what it threw and its work stops.
   */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options for `imap` and `imapUnordered`. */
export interface IMapOptions {
  /**
   * Items sent to a worker at a time.
   * @default {1}
   */
  readonly chunkSize?: number;
  /**
   * Aborting makes the iterator throw the signal's reason at once, even while
   * a `next()` on the input is pending, and stops its work.
   */
  readonly signal?: AbortSignal;
  /**
   * Most items taken from the input and not yet handed to the consumer.
   * Enough to cover a worker's round trip: fewer leaves the workers waiting
   * for input. Lower it when items are large.
   *
   * @default {Math.max(256, 4 * workers * chunkSize)}
   */
  readonly maxInFlight?: number;
  /**
   * Called as items finish, with the count finished so far. If it throws,
   * the iterator throws what it threw and the stream's work stops.
   */
  readonly onProgress?: (done: number) => void;
}

/** Options for `apply`. */
export interface ApplyOptions {
  /** Aborting rejects the call with the signal's reason and stops its work. */
  readonly signal?: AbortSignal;
}

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
export class Pool {
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
    const workers = options.workers ?? Math.min(navigator.hardwareConcurrency, MAX_WORKERS);
    positiveInteger("workers", workers);
    if (workers > MAX_WORKERS) {
      throw new RangeError(
        `Cannot use "workers" as it must be at most ${MAX_WORKERS} ` +
          `(each worker is a thread with a heap of its own): current value is ${workers}`,
      );
    }
    const maxTasksPerChild = options.maxTasksPerChild ?? Infinity;
    if (maxTasksPerChild !== Infinity) positiveInteger("maxTasksPerChild", maxTasksPerChild);
    const maxCrashes = options.maxCrashes ?? 3;
    positiveInteger("maxCrashes", maxCrashes);
    const idleTimeout = options.idleTimeout ?? 1000;
    if (typeof idleTimeout !== "number" || !(idleTimeout >= 0)) {
      throw new RangeError(
        `Cannot create a pool as "idleTimeout" must be a number of ms, 0 or more: current value is ${
          describe(idleTimeout)
        }`,
      );
    }
    const initializer = options.initializer === undefined
      ? null
      : functionSpec(options.initializer, "initializer");
    const initArgs = cloneInitArgs(options.initArgs ?? []);
    const recorder = options.recorder;
    if (recorder !== undefined && !(recorder instanceof Recorder)) {
      throw new TypeError(
        `Cannot use "recorder" as it must be a Recorder: current value is ${describe(recorder)}`,
      );
    }
    this.#workers = workers;
    this.#engine = new Dispatcher({
      workers,
      initializer,
      initArgs,
      maxTasksPerChild,
      maxCrashes,
      idleTimeout,
      permissions: workerPermissions(options.permissions),
      recorder,
    });
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
    return this.#admit<R>(fn, items, options, false, false);
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
    return this.#admit<R>(fn, argsList, options, true, false);
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
    return this.#admit<Settled<R>>(fn, items, options, false, true);
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
      this.#callOptions(spec, fn, true, false, signal, undefined),
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
    return this.#stream(fn, items, options, true);
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
    return this.#stream(fn, items, options, false);
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
    spread: boolean,
    settle: boolean,
  ): Promise<R[]> {
    let call: CollectCall<R>;
    let kind: "sync" | "async";
    try {
      const spec = this.#specOf(fn);
      if (options.chunkSize !== undefined) positiveInteger("chunkSize", options.chunkSize);
      kind = inputKind(items, spread ? "starmap" : settle ? "mapSettled" : "map");
      const signal = checkedSignal(options.signal);
      this.#refuse();
      const onProgress = callback("onProgress", options.onProgress);
      call = new CollectCall<R>(
        this.#engine,
        this.#callOptions(
          spec,
          fn,
          spread,
          settle,
          signal,
          onProgress === undefined ? undefined : (done) => onProgress(done, call.total),
        ),
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
    ordered: boolean,
  ): AsyncIterableIterator<R> {
    let call: StreamCall;
    try {
      const spec = this.#specOf(fn);
      const chunkSize = options.chunkSize ?? 1;
      positiveInteger("chunkSize", chunkSize);
      const maxInFlight = options.maxInFlight ??
        Math.max(MIN_IN_FLIGHT, 4 * this.#workers * chunkSize);
      positiveInteger("maxInFlight", maxInFlight);
      inputKind(items, ordered ? "imap" : "imapUnordered");
      const signal = checkedSignal(options.signal);
      this.#refuse();
      call = new StreamCall(this.#engine, {
        ...this.#callOptions(
          spec,
          fn,
          false,
          false,
          signal,
          callback("onProgress", options.onProgress),
        ),
        chunkSize,
        ordered,
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
    spread: boolean,
    settle: boolean,
    signal: AbortSignal | undefined,
    onProgress: ((done: number) => void) | undefined,
  ): CallOptions {
    return {
      fnId: this.#known.get(fn as object)?.fnId ?? this.#engine.fnId(spec),
      taskName: spec.kind === "module" ? spec.exportName : spec.name,
      spread,
      settle,
      signal,
      onProgress,
    };
  }

  #refuse(): void {
    const refusal = this.#engine.refusal();
    if (refusal !== null) throw refusal;
  }
}

/**
 * How `items` is read, as `for await` would: `"async"` when it has an async
 * iterator, `"sync"` when it has an iterator (a string does). A TypeError
 * naming `method` otherwise.
 */
function inputKind(items: unknown, method: string): "sync" | "async" {
  if (items !== null && items !== undefined) {
    const input = items as Partial<AsyncIterable<unknown> & Iterable<unknown>>;
    if (typeof input[Symbol.asyncIterator] === "function") return "async";
    if (typeof input[Symbol.iterator] === "function") return "sync";
  }
  throw new TypeError(
    `Cannot ${method} as the input must be iterable: current value is ${describe(items)}`,
  );
}

/** `signal`, once it is known to be an `AbortSignal` or absent. */
function checkedSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(
    `Cannot use "signal" as it must be an AbortSignal: current value is ${describe(signal)}`,
  );
}

/** A stream refused at the door: its first `next()` rejects with `error`, then it is done. */
// deno-lint-ignore require-yield
async function* refused<R>(error: unknown): AsyncGenerator<R, undefined> {
  throw error;
}

/** How a worker finds `fn`: by module and export, or by its source. */
function functionSpec(fn: unknown, name: string): FunctionSpec {
  if (fn instanceof ModuleTask) {
    const { url, exportName } = fn;
    // They travel to the workers in a message: anything else might not clone.
    if (typeof url !== "string" || typeof exportName !== "string") {
      throw new TypeError(
        `Cannot run "${name}" in a worker as its module URL and export name must be strings: ` +
          `current values are ${describe(url)} and ${describe(exportName)}`,
      );
    }
    return { kind: "module", url, exportName };
  }
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run "${name}" in a worker as it must be a function or a ModuleTask: current value is ${
        describe(fn)
      }`,
    );
  }
  const source = Function.prototype.toString.call(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(source)) {
    throw new TypeError(
      `Cannot run "${name}" in a worker as its source is not available: ` +
        `native and bound functions cannot be shipped (wrap it in an arrow function)`,
    );
  }
  return { kind: "source", source, name: functionName(fn) };
}

/**
 * A function's name, for messages and stack traces, read once. A `name`
 * that is not a string, or whose getter throws, counts as none: it travels
 * to the workers in a message, where a symbol could not be cloned.
 */
function functionName(fn: { readonly name?: unknown }): string {
  try {
    const name = fn.name;
    return typeof name === "string" ? name : "";
  } catch {
    return "";
  }
}

/** Refuses a callback option that is neither a function nor absent. */
function callback<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(
      `Cannot use "${name}" as it must be a function: current value is ${describe(value)}`,
    );
  }
  return value;
}

function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use "${name}" as it must be a positive integer: current value is ${describe(value)}`,
    );
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") return `function ${value.name || "(anonymous)"}`;
  if (typeof value === "symbol" || typeof value === "bigint") return String(value);
  if (Object.is(value, -0)) return "-0";
  if (Array.isArray(value)) return "an array";
  if (value !== null && typeof value === "object") return "an object";
  return String(value);
}

/**
 * A copy of `initArgs` for the workers, made now: a value that cannot be
 * cloned is refused here, not when a worker starts (inside an event
 * callback, where the error would end the program), and later changes to
 * the caller's array do not reach workers started later.
 */
function cloneInitArgs(initArgs: unknown): unknown[] {
  if (!Array.isArray(initArgs)) {
    throw new TypeError(
      `Cannot use "initArgs" as it must be an array: current value is ${describe(initArgs)}`,
    );
  }
  try {
    return structuredClone(initArgs);
  } catch (error) {
    throw new TypeError(
      `Cannot use "initArgs" as its values must be structured-cloneable ` +
        `(no functions, symbols or objects with methods): ${describeCause(error)}`,
      { cause: error },
    );
  }
}

/** The `deno.permissions` worker option for `permissions`, or `undefined` to inherit. */
function workerPermissions(value: unknown): Deno.PermissionOptions | undefined {
  if (value === undefined || value === "none") return "none";
  if (value === "inherit") return undefined;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return value as Deno.PermissionOptionsObject;
  }
  throw new TypeError(
    `Cannot use "permissions" as it must be "none", "inherit" or an object of grants: current value is ${
      describe(value)
    }`,
  );
}
