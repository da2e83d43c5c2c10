/**
 * Checks of options and inputs at the door: each refusal is a `TypeError`
 * or `RangeError` whose message names the option and its value, thrown
 * before anything is started or sent.
 *
 * @module
 */

import type { FunctionSpec } from "./_protocol.ts";
import { describeCause } from "./errors.ts";
import { ModuleTask } from "./module_task.ts";
import type { Isolation, PoolOptions, ResourceLimits } from "./options.ts";
import { Recorder } from "./recorder.ts";

/**
 * Most workers a pool may have. The pool starts them all, busy or not, and
 * each is a thread with a V8 heap of its own (8 MB idle, on Deno 2.9.6): a
 * mistyped count of a million would start threads until the process ran out
 * of memory and ended.
 */
export const MAX_WORKERS = 1024;

/** Items `imap` keeps in flight by default, at the least: about a round trip's worth of tiny tasks. */
export const MIN_IN_FLIGHT = 256;

/**
 * How `items` is read, as `for await` would: `"async"` when it has an async
 * iterator, `"sync"` when it has an iterator (a string does). A TypeError
 * naming `method` otherwise.
 */
export function inputKind(items: unknown, method: string): "sync" | "async" {
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
export function checkedSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(
    `Cannot use "signal" as it must be an AbortSignal: current value is ${describe(signal)}`,
  );
}

/** How a worker finds `fn`: by module and export, or by its source. */
export function functionSpec(fn: unknown, name: string): FunctionSpec {
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
export function callback<F>(name: string, value: F | undefined): F | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(
      `Cannot use "${name}" as it must be a function: current value is ${describe(value)}`,
    );
  }
  return value;
}

export function positiveInteger(name: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(
      `Cannot use "${name}" as it must be a positive integer: current value is ${describe(value)}`,
    );
  }
}

export function describe(value: unknown): string {
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
export function cloneInitArgs(initArgs: unknown): unknown[] {
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
export function workerPermissions(value: unknown): Deno.PermissionOptions | undefined {
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

/** A pool's options, each read once and checked: what the engine is built from. */
export interface PoolSettings {
  readonly workers: number;
  readonly initializer: FunctionSpec | null;
  readonly initArgs: unknown[];
  readonly maxTasksPerChild: number;
  readonly maxCrashes: number;
  readonly idleTimeout: number;
  readonly recorder: Recorder | undefined;
  readonly permissions: Deno.PermissionOptions | undefined;
  readonly stayAwake: boolean;
  readonly isolation: Isolation;
  readonly maxOldGenerationSizeMb: number | undefined;
}

/** Checks every option of `new Pool()`; throws the first refusal. */
export function poolSettings(options: PoolOptions): PoolSettings {
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
  const stayAwake = options.stayAwake === undefined ? true : options.stayAwake;
  if (typeof stayAwake !== "boolean") {
    throw new TypeError(
      `Cannot use "stayAwake" as it must be a boolean: current value is ${describe(stayAwake)}`,
    );
  }
  const isolation = options.isolation ?? "thread";
  if (isolation !== "thread" && isolation !== "process") {
    throw new TypeError(
      `Cannot use "isolation" as it must be "thread" or "process": current value is ${
        describe(isolation)
      }`,
    );
  }
  return {
    isolation,
    maxOldGenerationSizeMb: heapLimit(options.resourceLimits, isolation),
    workers,
    initializer,
    initArgs,
    maxTasksPerChild,
    maxCrashes,
    idleTimeout,
    recorder,
    permissions: workerPermissions(options.permissions),
    stayAwake,
  };
}

/** The heap limit `resourceLimits` sets, checked: processes only, a positive integer of MB. */
function heapLimit(limits: ResourceLimits | undefined, isolation: Isolation): number | undefined {
  if (limits === undefined) return undefined;
  if (limits === null || typeof limits !== "object") {
    throw new TypeError(
      `Cannot use "resourceLimits" as it must be an object: current value is ${describe(limits)}`,
    );
  }
  if (isolation !== "process") {
    throw new TypeError(
      `Cannot use "resourceLimits" with isolation "${isolation}": ` +
        `Deno sets no heap limit on a Web Worker (use isolation: "process")`,
    );
  }
  const mb = limits.maxOldGenerationSizeMb;
  if (mb !== undefined) positiveInteger("resourceLimits.maxOldGenerationSizeMb", mb);
  return mb;
}
