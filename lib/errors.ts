/**
 * The errors a pool rejects with. How an error thrown inside a worker travels
 * and is rebuilt on this side is the wire format's business (`_wire.ts`).
 *
 * @module
 */

/** What the pool knows about a failed task: which item, which worker, which function. */
export interface TaskErrorOptions {
  /** The original error, rebuilt with its name, message, stack, cause and properties. */
  readonly cause: unknown;
  /** Index of the item in the call's input (0 for `apply`). */
  readonly index: number;
  /** Id of the worker that ran the task. */
  readonly workerId: number;
  /** Name of the task function, when it has one. */
  readonly taskName?: string;
}

/**
 * A task threw (or its result could not be sent back). The original error is
 * in `cause`, with the worker's stack.
 *
 * @example Catch a failing task
 * ```ts
 * import { Pool, TaskError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ workers: 1 });
 * const error = await pool.apply((n: number) => {
 *   if (n < 0) throw new RangeError("negative");
 *   return n;
 * }, [-1]).catch((e) => e);
 * assert.ok(error instanceof TaskError);
 * assert.equal(error.index, 0);
 * assert.ok(error.cause instanceof RangeError);
 * ```
 */
export class TaskError extends Error {
  /** Index of the item in the call's input. */
  readonly index: number;
  /** Id of the worker that ran the task. */
  readonly workerId: number;

  /** Builds the error from what the worker reported. */
  constructor(message: string, options: TaskErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "TaskError";
    this.index = options.index;
    this.workerId = options.workerId;
  }
}

/**
 * The pool no longer takes work: it was closed or terminated. Work queued
 * before `close()` still finishes; `terminate()` rejects it with this error.
 *
 * @example
 * ```ts
 * import { Pool, PoolClosedError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool({ workers: 1 });
 * pool.close();
 * await assert.rejects(pool.map((n: number) => n, [1]), PoolClosedError);
 * await pool.join();
 * ```
 */
export class PoolClosedError extends Error {
  /** Builds the error; `message` says what could not be done. */
  constructor(message = "Cannot run tasks as the pool is closed", options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/** What the pool knows about a worker that died. */
export interface WorkerCrashedErrorOptions {
  /** Id of the worker that died. */
  readonly workerId: number;
  /** Index of the item it was running, in the call's input. */
  readonly index: number;
  /** Why it died, when the worker said: the error that escaped, or a note on how it ended. */
  readonly cause?: unknown;
}

/**
 * A worker died while it ran a task: an error escaped into its event loop,
 * the task called `self.close()` or `Deno.exit()`. The worker is replaced;
 * the task that was running fails with this error once it has killed
 * `maxCrashes` workers.
 *
 * @example
 * ```ts
 * import { Pool, WorkerCrashedError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ workers: 1, maxCrashes: 1 });
 * const error = await pool.apply(() => self.close(), []).catch((e) => e);
 * assert.ok(error instanceof WorkerCrashedError);
 * assert.equal(await pool.apply((n: number) => n * 2, [21]), 42);
 * ```
 */
export class WorkerCrashedError extends Error {
  /** Id of the worker that died. */
  readonly workerId: number;
  /** Index of the item it was running. */
  readonly index: number;

  /** Builds the error; `message` says which worker and which task. */
  constructor(message: string, options: WorkerCrashedErrorOptions) {
    super(message, { cause: options.cause });
    this.name = "WorkerCrashedError";
    this.workerId = options.workerId;
    this.index = options.index;
  }
}

/**
 * The pool's `initializer` threw in a worker, or the worker died while it ran
 * or before its first task (it called `self.close()` or `Deno.exit()`, or a
 * timer it set threw). The pool is broken from then on: every pending and
 * later call rejects with this error, as repeating the initializer would
 * fail the same way.
 *
 * @example
 * ```ts
 * import { Pool, WorkerInitError } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const pool = new Pool({
 *   workers: 1,
 *   initializer: () => { throw new Error("no config"); },
 * });
 * await assert.rejects(pool.apply(() => 1, []), WorkerInitError);
 * await pool.terminate();
 * ```
 */
export class WorkerInitError extends Error {
  /** Builds the error; `cause` is the initializer's error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WorkerInitError";
  }
}

/**
 * `"Name: message"` for an error, `String(value)` for anything else, for
 * error messages: never throws, whatever the value (a revived error may
 * carry a `name` of any cloneable value, and a thrown value any shape).
 */
export function describeCause(value: unknown): string {
  try {
    if (value instanceof Error) return `${String(value.name)}: ${String(value.message)}`;
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return `[${typeof value} that cannot be read]`;
    }
  }
}
