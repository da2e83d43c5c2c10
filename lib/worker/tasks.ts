/**
 * How the worker program gets the functions it runs: compiled from the
 * source a `define` message carries, or imported from a module.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import type { FunctionSpec, ToWorker } from "../_protocol.ts";
import type { Fn } from "./run_chunk.ts";
import type { WorkerState } from "./state.ts";

/**
 * Compiles a function sent by its source.
 *
 * @param spec The function's source, and the name its stack frames show.
 * @returns The function.
 * @throws What compiling it threw.
 */
export function compile(spec: FunctionSpec & { kind: "source" }): Fn {
  // An arrow, a `function` or a class is an expression as written; method
  // shorthand (`square(n) { ... }`) only parses inside an object literal.
  // `new Function` compiles in the global scope, so a task never sees the
  // functions and state of this program.
  // The sourceURL names the task in stack traces: "at square (task:square:2:10)".
  const name = `\n//# sourceURL=task:${spec.name || "anonymous"}\n`;
  try {
    return new Function(`return (${spec.source}\n);${name}`)() as Fn;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    const holder = new Function(`return ({${spec.source}\n});${name}`)() as Record<string, Fn>;
    return Object.values(holder)[0];
  }
}

/**
 * Imports a function that a module exports.
 *
 * @param spec The module's URL and the export's name.
 * @returns The function.
 * @throws What importing threw, or a `TypeError` when the export is not a function.
 */
export async function importTask(spec: FunctionSpec & { kind: "module" }): Promise<Fn> {
  const module = await import(spec.url);
  const fn = module[spec.exportName];
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot run export "${spec.exportName}" of ${spec.url}: expected a function, got ${typeof fn}`,
    );
  }
  return fn as Fn;
}

/**
 * Compiles or imports a function, whichever its spec asks for.
 *
 * @param spec How to find the function.
 * @returns The function.
 */
export async function loadTask(spec: FunctionSpec): Promise<Fn> {
  return spec.kind === "source" ? compile(spec) : await importTask(spec);
}

/**
 * Makes the function of a `define` message ready under its id, or keeps
 * what stopped that, for the items that call it to fail with. Only an
 * import makes it asynchronous.
 *
 * Compiling a source runs code (a class's static blocks and computed keys),
 * and so does importing a module, which may end the worker: `loading` says
 * then whose fault it was.
 *
 * @param w The worker's state.
 * @param message The `define` message.
 * @returns A promise while a module is imported.
 */
export function defineTask(
  w: WorkerState,
  { fnId, spec }: Extract<ToWorker, { type: "define" }>,
): void | Promise<void> {
  w.loading = fnId;
  if (spec.kind === "module") return defineImported(w, fnId, spec);
  try {
    w.tasks.set(fnId, { fn: compile(spec), failure: null });
  } catch (error) {
    w.tasks.set(fnId, { fn: null, failure: error });
  }
  w.loading = null;
}

/** `defineTask` for a function a module exports: the import is asynchronous. */
export async function defineImported(
  w: WorkerState,
  fnId: number,
  spec: FunctionSpec & { kind: "module" },
): Promise<void> {
  try {
    w.tasks.set(fnId, { fn: await importTask(spec), failure: null });
  } catch (error) {
    w.tasks.set(fnId, { fn: null, failure: error });
  }
  w.loading = null;
}
