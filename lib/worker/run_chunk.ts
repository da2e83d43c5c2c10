/**
 * Running one chunk: calling its function on each item in turn, keeping the
 * results, waiting for those that are promises, and writing down the errors.
 *
 * The loops here run once per item, so they allocate nothing and call
 * nothing indirectly per item beyond the task itself: their state is in
 * locals and in the chunk's own `Running` record.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import { type ChunkItems, type ChunkResult, type ItemError, PACK_MIN } from "../_protocol.ts";
import type { RunChunk } from "../_protocol.ts";
import { now, stopped, type WorkerState } from "./state.ts";

/** A task function as the worker calls it. */
export type Fn = (...args: unknown[]) => unknown;

/** A function a `define` message sent: compiled, or what stopped that. */
export interface Task {
  /** The function; `null` when it could not be compiled or imported. */
  readonly fn: Fn | null;
  /** What compiling or importing it threw; each item that calls it fails with this. */
  readonly failure: unknown;
}

/** A chunk while it runs. */
export interface Running {
  /** The chunk's id (see `RunChunk`). */
  readonly id: number;
  /** Its function (see `Task`). */
  readonly fn: Fn | null;
  /** What each item fails with when `fn` is `null`. */
  readonly failure: unknown;
  /** Its items, as they arrived. */
  readonly items: ChunkItems;
  /** `true` calls `fn(...item)`. */
  readonly spread: boolean;
  /** `true` runs every item and writes down each error; `false` stops at the first. */
  readonly settle: boolean;
  /** Results, unless they are still going into `numbers`. */
  values: unknown[];
  /**
   * Results of a chunk of packed numbers, while every one so far is a
   * number: they go back as they are, with no pass to pack them.
   */
  numbers: Float64Array | null;
  /** The items that failed so far; `null` while none has. */
  errors: ItemError[] | null;
  /** When it started, in ms since the epoch (see `now`). */
  readonly start: number;
  /** The item running now. */
  index: number;
}

/**
 * Runs a chunk; hands over to a promise when a task returns one.
 *
 * @param w The worker's state.
 * @param chunk The chunk, as the pool sent it.
 * @returns Its results, or a promise of them.
 */
export function runChunk(
  w: WorkerState,
  [id, , , fnId, spread, settle, items]: RunChunk,
): ChunkResult | Promise<ChunkResult> {
  const task = w.tasks.get(fnId) ??
    { fn: null, failure: new Error(`Function ${fnId} was never defined`) };
  const packedIn = !Array.isArray(items);
  // Results of packed doubles overwrite the chunk's own copy (item i is
  // read before result i is written, and never again). Items in shared
  // memory are the pool's too, kept to run again if this worker dies, and
  // integers have no room for any number: their results go to an array of
  // their own.
  const numbers = !packedIn
    ? null
    : items instanceof Float64Array && !(items.buffer instanceof SharedArrayBuffer)
    ? items
    : new Float64Array(items.length);
  const run: Running = {
    id,
    fn: task.fn,
    failure: task.failure,
    items,
    spread,
    settle,
    values: packedIn ? [] : new Array(items.length),
    numbers,
    errors: null,
    start: now(w),
    index: 0,
  };
  w.running = run;
  return numbers !== null && !spread && task.fn !== null
    ? advanceNumbers(w, run, task.fn, items as Float64Array | Int32Array, numbers)
    : advance(w, run, 0);
}

/**
 * Runs a chunk's items from `from` on; hands over to a promise when a task
 * returns one.
 *
 * @param w The worker's state.
 * @param run The chunk.
 * @param from The first item to run.
 * @returns The chunk's results, or a promise of them.
 */
export function advance(
  w: WorkerState,
  run: Running,
  from: number,
): ChunkResult | Promise<ChunkResult> {
  const { items, fn, spread } = run;
  const n = items.length;
  // Packed numbers have no holes; `in` on a typed array is a slow lookup.
  const holes = Array.isArray(items);
  for (let i = from; i < n; i++) {
    if (stopped(w)) break;
    if (holes && !(i in items)) continue; // a hole stays a hole, as in Array.prototype.map
    run.index = i;
    let value: unknown;
    try {
      if (fn === null) throw run.failure;
      value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
    } catch (error) {
      if (fail(w, run, i, error)) break;
      continue;
    }
    const pending = keep(w, run, i, value);
    if (pending !== null) return pending;
  }
  return finish(w, run);
}

/**
 * `advance` for a chunk of packed numbers whose results are numbers so far:
 * each result goes to `out`, which is the items themselves when they are
 * doubles in the worker's own copy (an item is read first and never
 * again). Kept apart so that V8 sees only typed arrays here, which makes a
 * map of tiny items about three times faster per item than the general loop.
 *
 * @param w The worker's state.
 * @param run The chunk; its items are packed numbers.
 * @param fn Its function.
 * @param items Its items: `run.items`, passed in rather than read from
 *   `run`, where they may be of any kind. Read from there, a map of 1e6
 *   doubles took 9-11 ms in the loop instead of 4-7 (2 cores).
 * @param out Where the results go: `run.numbers`.
 * @returns The chunk's results, or a promise of them.
 */
export function advanceNumbers(
  w: WorkerState,
  run: Running,
  fn: Fn,
  items: Float64Array | Int32Array,
  out: Float64Array,
): ChunkResult | Promise<ChunkResult> {
  const n = items.length;
  for (let i = 0; i < n; i++) {
    if (stopped(w)) break;
    run.index = i;
    let value: unknown;
    try {
      value = fn(items[i]);
    } catch (error) {
      if (fail(w, run, i, error)) break;
      continue;
    }
    if (typeof value === "number") {
      out[i] = value;
      continue;
    }
    return keep(w, run, i, value) ?? advance(w, run, i + 1);
  }
  return finish(w, run);
}

/**
 * Keeps item `i`'s result; a promise pauses the chunk until it settles.
 *
 * @returns A promise of the chunk's results when `value` is to be awaited, else `null`.
 */
export function keep(
  w: WorkerState,
  run: Running,
  i: number,
  value: unknown,
): Promise<ChunkResult> | null {
  const numbers = run.numbers;
  if (numbers !== null) {
    // The first result that is not a number: go on with a plain array.
    // Its length is the chunk's, as the pool reads the chunk's size from it.
    const values = new Array(numbers.length);
    for (let j = 0; j < i; j++) values[j] = numbers[j];
    run.values = values;
    run.numbers = null;
  }
  if (isThenable(value)) {
    return Promise.resolve(value).then(
      (result) => {
        run.values[i] = result;
        return advance(w, run, i + 1);
      },
      (error) => fail(w, run, i, error) ? finish(w, run) : advance(w, run, i + 1),
    );
  }
  run.values[i] = value;
  return null;
}

/**
 * Whether a task's result is to be awaited. One whose `then` cannot be
 * read (a getter that throws, a revoked Proxy) is, as `await` would: the
 * promise made of it rejects with that error, and the item fails.
 */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  if (value === null || typeof value !== "object" && typeof value !== "function") return false;
  try {
    return typeof (value as { then?: unknown }).then === "function";
  } catch {
    return true;
  }
}

/**
 * Records a failed item.
 *
 * @returns `true` when the chunk must stop here.
 */
export function fail(w: WorkerState, run: Running, index: number, error: unknown): boolean {
  (run.errors ??= []).push({ index, error: w.errors.write(error) });
  return !run.settle;
}

/**
 * Ends a chunk: its results, packed as numbers when every one is a number.
 *
 * @returns The chunk's results.
 */
export function finish(w: WorkerState, run: Running): ChunkResult {
  w.running = null;
  if (run.numbers !== null) {
    // An item that failed still holds its input here; the pool skips failed items' values.
    return [run.id, run.numbers, run.errors, run.start, now(w)];
  }
  const values = run.values;
  let packed: ChunkItems = values;
  const n = values.length;
  if (n >= PACK_MIN && run.errors === null) {
    // One pass checks and copies; a hole reads as undefined and keeps the array.
    const numbers = new Float64Array(n);
    let i = 0;
    for (; i < n; i++) {
      const value = values[i];
      if (typeof value !== "number") break;
      numbers[i] = value;
    }
    if (i === n) packed = numbers;
  }
  return [run.id, packed, run.errors, run.start, now(w)];
}
