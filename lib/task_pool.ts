/**
 * `TaskPool`: what every pool offers, whatever runs its tasks.
 *
 * @module
 */

import type { Settled } from "./engine/call.ts";
import type { ApplyOptions, IMapOptions, MapOptions, Task } from "./options.ts";

/**
 * The methods of Python's `multiprocessing.Pool`, as every pool here offers
 * them: {@linkcode Pool} on this machine's threads, and any other engine
 * behind the same contract. Code written against `TaskPool` runs on each
 * by changing the line that makes the pool.
 *
 * @example Code that takes any pool
 * ```ts
 * import { Pool, type TaskPool } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * function squares(pool: TaskPool, n: number): Promise<number[]> {
 *   return pool.map((x: number) => x * x, Array.from({ length: n }, (_, i) => i));
 * }
 *
 * await using pool = new Pool({ workers: 2 });
 * assert.deepEqual(await squares(pool, 4), [0, 1, 4, 9]);
 * ```
 */
export interface TaskPool extends AsyncDisposable {
  /**
   * Runs `fn` on every item in parallel; resolves with the results in input order.
   *
   * @param fn A self-contained function, or a module task.
   * @param items The input, read in full first: an iterable or an async iterable.
   * @param options Chunk size, abort signal, progress callback.
   * @returns The results, in input order.
   */
  map<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): Promise<R[]>;

  /**
   * Like `map`, with each item an argument list: `fn(...args)`.
   *
   * @param fn A self-contained function, or a module task.
   * @param argsList One argument list per call.
   * @param options Chunk size, abort signal, progress callback.
   * @returns The results, in input order.
   */
  starmap<A extends unknown[], R>(
    fn: Task<A, R>,
    argsList: Iterable<A> | AsyncIterable<A>,
    options?: MapOptions,
  ): Promise<R[]>;

  /**
   * Like `map`, reporting every item as `Promise.allSettled` does.
   *
   * @param fn A self-contained function, or a module task.
   * @param items The input.
   * @param options Chunk size, abort signal, progress callback.
   * @returns One outcome per item, in input order.
   */
  mapSettled<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: MapOptions,
  ): Promise<Settled<R>[]>;

  /**
   * Runs `fn(...args)` once.
   *
   * @param fn A self-contained function, or a module task.
   * @param args Its arguments.
   * @param options Abort signal.
   * @returns What `fn` returned.
   */
  apply<A extends unknown[], R>(fn: Task<A, R>, args: A, options?: ApplyOptions): Promise<R>;

  /**
   * Streams the results in input order, pulling the input lazily.
   *
   * @param fn A self-contained function, or a module task.
   * @param items The input; it may be endless.
   * @param options Chunk size, window, abort signal, progress callback.
   * @returns The results, as they are ready and in input order.
   */
  imap<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: IMapOptions,
  ): AsyncIterableIterator<R>;

  /**
   * Like `imap`, in completion order.
   *
   * @param fn A self-contained function, or a module task.
   * @param items The input; it may be endless.
   * @param options Chunk size, window, abort signal, progress callback.
   * @returns The results, as they are ready.
   */
  imapUnordered<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options?: IMapOptions,
  ): AsyncIterableIterator<R>;

  /** Stops taking calls; every call already made runs to completion. */
  close(): void;

  /**
   * Ends the work now: pending calls reject.
   *
   * @returns Once everything has stopped.
   */
  terminate(): Promise<void>;

  /**
   * Waits for the end, after `close()` or `terminate()`.
   *
   * @returns Once everything has stopped.
   */
  join(): Promise<void>;
}
