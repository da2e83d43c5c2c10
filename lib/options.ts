/**
 * The options a pool and its calls take, and what a pool can run.
 *
 * @module
 */

import type { ModuleTask } from "./module_task.ts";
import type { Recorder } from "./recorder.ts";

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
  /**
   * Whether an idle worker may wait for its next message awake, spinning,
   * for up to half a millisecond while a CPU is free besides the main
   * thread's, instead of going to sleep at once: waking a sleeping thread
   * can cost more than the rest of a round trip on a virtual machine, and
   * the spin costs a CPU while it lasts. `false` lets idle workers sleep at
   * once.
   * @default {true}
   */
  readonly stayAwake?: boolean;
  /**
   * What a worker is. `"thread"`: a Web Worker, a thread of this process.
   * `"process"`: a `deno` process of its own, which the operating system
   * can stop however busy it is (an aborted task in an endless loop is
   * killed), whose heap has its own limit (`resourceLimits`), and whose
   * permissions are the flags it is started with, so it needs no
   * `worker-options` feature. It costs a process's start-up, and items and
   * results cross a pipe. The program needs permission to start Deno:
   * `--allow-run=` and the path `Deno.execPath()` gives.
   * @default {"thread"}
   */
  readonly isolation?: Isolation;
  /** Limits of each worker; `"process"` workers only. */
  readonly resourceLimits?: ResourceLimits;
}

/** What a pool's worker is: see {@linkcode PoolOptions.isolation}. */
export type Isolation = "thread" | "process";

/** Limits of each worker process. */
export interface ResourceLimits {
  /**
   * The V8 heap limit of each worker process, in MB, the name Node's
   * `Worker` and piscina use (V8's `--max-old-space-size`). A task that
   * needs more fails with a `WorkerCrashedError` saying the worker ran out
   * of memory; the worker is replaced and every other task goes on.
   */
  readonly maxOldGenerationSizeMb?: number;
}

/**
 * Permissions for a pool's workers: see {@linkcode PoolOptions.permissions}.
 */
export type WorkerPermissions = "none" | "inherit" | Deno.PermissionOptionsObject;

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
