/**
 * The errors a pool rejects with, and how an error thrown inside a worker is
 * rebuilt on this side.
 *
 * @module
 */

import type { SerializedError } from "./_protocol.ts";

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
 * The pool's `initializer` threw in a worker. The pool is broken from then on:
 * every pending and later call rejects with this error, as repeating the
 * initializer would fail the same way.
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

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  EvalError,
  RangeError,
  ReferenceError,
  SyntaxError,
  TypeError,
  URIError,
};

/** Rebuilds an error that crossed from a worker: same class where built in, same fields. */
export function reviveError(serialized: SerializedError): unknown {
  if (serialized.thrown !== undefined) return serialized.thrown.value;
  const Ctor = BUILTIN_ERRORS[serialized.name] ?? Error;
  const cause = serialized.cause === undefined
    ? undefined
    : "value" in serialized.cause
    ? serialized.cause.value
    : reviveError(serialized.cause);
  const error = serialized.cause === undefined
    ? new Ctor(serialized.message)
    : new Ctor(serialized.message, { cause });
  if (error.name !== serialized.name) {
    Object.defineProperty(error, "name", {
      value: serialized.name,
      writable: true,
      configurable: true,
    });
  }
  Object.defineProperty(error, "stack", {
    value: serialized.stack,
    writable: true,
    configurable: true,
  });
  Object.assign(error, serialized.props);
  return error;
}
