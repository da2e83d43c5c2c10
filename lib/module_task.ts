/**
 * Tasks named by module and export, for work that imports other code: the
 * way Python's pool pickles a function by module and name.
 *
 * @module
 */

/** Any function a task module may export. */
export type AnyFunction = (...args: never[]) => unknown;

/** The names of `M`'s exports that are functions. */
export type FunctionExports<M> =
  & {
    [K in keyof M]: M[K] extends AnyFunction ? K : never;
  }[keyof M]
  & string;

/**
 * A task that workers load with `import()` and run by export name. Made by
 * {@linkcode TaskModule.task}; `F` is the export's type, so the pool checks
 * items and results against it.
 */
export class ModuleTask<F extends AnyFunction> {
  /** The module's URL, absolute. */
  readonly url: string;
  /** The name of the exported function. */
  readonly exportName: string;
  /** The export's type; exists for the type checker only and is never set. */
  declare readonly signature?: F;

  /** Names export `exportName` of the module at `url`. */
  constructor(url: string, exportName: string) {
    this.url = url;
    this.exportName = exportName;
  }
}

/**
 * A module whose exported functions run as pool tasks. Give it the module's
 * type, `typeof import("./tasks.ts")`, and a wrong export name or a wrong
 * argument type fails `deno check`.
 *
 * Workers load the module with `import()`, so they need read access to the
 * module's files: grant it with the pool's `permissions` option (the program
 * must hold it too). Functions shipped by source need no permission.
 *
 * @example Run an exported function on the pool
 * ```ts
 * import { Pool, TaskModule } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const fixtures = new URL("../tests/fixtures/", import.meta.url);
 * const tasks = new TaskModule<typeof import("../tests/fixtures/tasks.ts")>(
 *   new URL("tasks.ts", fixtures),
 * );
 * await using pool = new Pool({ workers: 2, permissions: { read: [fixtures] } });
 * assert.deepEqual(await pool.map(tasks.task("fib"), [10, 20]), [55, 6765]);
 * ```
 */
export class TaskModule<M> {
  /** The module's URL, absolute. */
  readonly url: string;

  /** Names the module at `url` (a `URL`, or an absolute URL string). */
  constructor(url: string | URL) {
    this.url = new URL(url).href;
  }

  /** The task that runs export `exportName`. */
  task<K extends FunctionExports<M>>(
    exportName: K,
  ): ModuleTask<M[K] extends AnyFunction ? M[K] : never> {
    return new ModuleTask(this.url, exportName);
  }
}
