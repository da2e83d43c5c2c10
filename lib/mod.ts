/**
 * A worker pool for Deno with the API of Python's `multiprocessing.Pool`:
 * `map`, `imap`, `imapUnordered`, `starmap`, `apply` and `mapSettled` over
 * Web Workers, with cancellation, crash recovery and faithful errors.
 *
 * @example
 * ```ts
 * import { Pool } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * await using pool = new Pool({ workers: 3 });
 * assert.deepEqual(await pool.map((n: number) => n * n, [1, 2, 3]), [1, 4, 9]);
 * ```
 *
 * @module
 */

export * from "./pool.ts";
export * from "./options.ts";
export type { TaskPool } from "./task_pool.ts";
export {
  PoolClosedError,
  TaskError,
  type TaskErrorOptions,
  WorkerCrashedError,
  type WorkerCrashedErrorOptions,
  WorkerInitError,
} from "./errors.ts";
export * from "./module_task.ts";
export * from "./recorder.ts";
