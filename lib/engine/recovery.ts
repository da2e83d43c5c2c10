/**
 * What follows a worker's death. What it finished is delivered; the item it
 * was running is blamed and tried again on a fresh worker until it has
 * killed `maxCrashes` of them; every other chunk it held goes back to the
 * queue.
 *
 * A worker that died running no chunk was killed by what it was loading.
 * Its initializer, while it ran or before the worker's first task (the only
 * code that had run there), breaks the pool as an initializer that throws
 * does: every fresh worker would die the same way. A task module that it
 * imported, or a task's source that it compiled (a class's static block runs
 * then), is blamed on the first chunk that needed it, all of it, as none of
 * its items started. A worker that died between chunks (a timer an earlier
 * task left behind) had already sent that task's result: its chunks go back
 * to the queue, and no task is blamed.
 *
 * The functions here decide; the dispatcher acts, in the order of the plan.
 *
 * @module
 */

import type { Chunk } from "./call.ts";
import type { ChunkResult, FromWorker, SerializedError } from "../_protocol.ts";
import { describeCause, WorkerCrashedError, WorkerInitError } from "../errors.ts";
import { reviveError } from "../_wire.ts";

/** A worker's last words: the `dying` message it sent, or one made for it (see `silentDeath`). */
export type Death = Extract<FromWorker, { type: "dying" }>;

/** What the engine knew of a worker that died, besides its last words. */
export interface DeadWorker {
  readonly id: number;
  /** `true` once it had sent results: it had got past its initializer. */
  readonly answered: boolean;
}

/** The pool's settings that recovery follows. */
export interface CrashRules {
  /** Workers an item may kill before it fails. */
  readonly maxCrashes: number;
  /** `true` when the pool has an initializer. */
  readonly hasInitializer: boolean;
  /** `true` when the function with this id comes from a module, `false` from source. */
  isModule(fnId: number): boolean;
}

/** One thing to do after a death; a plan lists them in the order they are done. */
export type Step =
  /** Hand the chunk's call what the worker reported for the chunk's first `count` items. */
  | {
    readonly kind: "deliver";
    readonly chunk: Chunk;
    readonly result: ChunkResult;
    readonly count: number;
  }
  /** Queue the chunk again as it is: it never started. */
  | { readonly kind: "requeue"; readonly chunk: Chunk }
  | RetryStep
  /** Fail the chunk's items `from ..< to`, each with `error(index)`, while the call is unfinished. */
  | {
    readonly kind: "fail";
    readonly chunk: Chunk;
    readonly from: number;
    readonly to: number;
    readonly error: (index: number) => WorkerCrashedError;
  };

/**
 * Queue the chunk's items `from ..< to` again as a new chunk that has killed
 * `crashes` workers, unless the call has finished by then.
 */
export interface RetryStep {
  readonly kind: "retry";
  readonly chunk: Chunk;
  readonly from: number;
  readonly to: number;
  readonly crashes: number;
}

/**
 * The error that breaks the pool when its initializer killed the worker, as
 * it ran or before the worker's first task; `null` when something else did.
 */
export function initializerDeath(
  death: Death,
  worker: DeadWorker,
  rules: CrashRules,
): WorkerInitError | null {
  const { loading, error, how } = death;
  const byInitializer = loading === "init" ||
    loading === null && rules.hasInitializer && !worker.answered;
  if (death.chunkId !== null || !byInitializer) return null;
  const cause = error === null ? undefined : reviveError(error);
  return new WorkerInitError(
    `The pool's initializer failed in worker ${worker.id}: the worker died ${
      loading === "init" ? "while it ran" : "before its first task"
    } (${deathNote("the initializer", how, cause)})`,
    { cause },
  );
}

/** The error that breaks the pool when its initializer threw in a worker. */
export function initializerError(worker: DeadWorker, error: SerializedError): WorkerInitError {
  return new WorkerInitError(
    `The pool's initializer failed in worker ${worker.id}: ${error.message}`,
    { cause: reviveError(error) },
  );
}

/**
 * What to do with the chunks `held` by a worker that died otherwise than
 * by its initializer (see `initializerDeath`), in the order they were sent.
 */
export function planRecovery(
  death: Death,
  held: readonly Chunk[],
  worker: DeadWorker,
  rules: CrashRules,
): Step[] {
  const { results, index, loading } = death;
  // Died loading a function: importing its module, or compiling its source.
  const importing = death.chunkId === null && typeof loading === "number";
  const blamed = importing
    ? held.find((chunk) => chunk.call.fnId === loading)?.id ?? null
    : death.chunkId;
  const byId = new Map(results.map((result) => [result[0], result]));
  const steps: Step[] = [];
  for (const chunk of held) {
    const result = byId.get(chunk.id);
    if (chunk.id !== blamed) {
      if (result !== undefined) {
        steps.push({ kind: "deliver", chunk, result, count: result[1].length });
      } else steps.push({ kind: "requeue", chunk });
      continue;
    }
    const done = importing ? 0 : Math.max(0, index);
    if (result !== undefined && done > 0) {
      steps.push({ kind: "deliver", chunk, result, count: done });
    }
    const crashes = chunk.crashes + 1;
    // Blamed from the item that was running to the one after it; an import
    // is blamed on the whole chunk.
    const end = importing ? chunk.items.length : done + 1;
    if (crashes < rules.maxCrashes) {
      // The item that was running is retried alone, so its crash count is its
      // own; the items after it never ran and start again with a clean count.
      steps.push({ kind: "retry", chunk, from: done, to: end, crashes });
    } else {
      const error = crashError(death, worker, { chunk, crashes, importing, rules });
      steps.push({ kind: "fail", chunk, from: done, to: end, error });
    }
    if (end < chunk.items.length) {
      steps.push({ kind: "retry", chunk, from: end, to: chunk.items.length, crashes: 0 });
    }
  }
  return steps;
}

/**
 * The last words of a worker that failed without saying how (an error
 * outside every handler, a message that could not be read). Where it stopped
 * is unknown: the chunk at the head of its line, if any, is blamed from its
 * first item.
 */
export function silentDeath(reason: string, first: Chunk | undefined): Death {
  return {
    type: "dying",
    how: "uncaught",
    error: { type: "Error", name: "Error", message: reason, stack: undefined, props: {} },
    results: [],
    chunkId: first?.id ?? null,
    index: 0,
    loading: null,
  };
}

/** What a crash error needs to know of the blamed chunk. */
interface Blame {
  readonly chunk: Chunk;
  readonly crashes: number;
  readonly importing: boolean;
  readonly rules: CrashRules;
}

/** Builds, for an item of the blamed chunk, the error it fails with once it killed `maxCrashes` workers. */
function crashError(
  death: Death,
  worker: DeadWorker,
  { chunk, crashes, importing, rules }: Blame,
): (index: number) => WorkerCrashedError {
  const { error, how } = death;
  const cause = error === null ? undefined : reviveError(error);
  const tried = `it was tried on ${crashes} worker${crashes === 1 ? "" : "s"}`;
  const fromModule = rules.isModule(chunk.call.fnId);
  return (at) => {
    const doing = !importing
      ? `running task ${at} (${deathNote("the task", how, cause)})`
      : fromModule
      ? `importing the module of task ${at} (${deathNote("the module", how, cause)})`
      : `loading the function of task ${at} (${deathNote("the function", how, cause)})`;
    return new WorkerCrashedError(`Worker ${worker.id} died while ${doing}; ${tried}`, {
      workerId: worker.id,
      index: at,
      cause,
    });
  };
}

/** How a worker died, for an error message: `"the task called self.close()"`. */
function deathNote(who: string, how: Death["how"], cause: unknown): string {
  return how === "close"
    ? `${who} called self.close()`
    : how === "exit"
    ? `${who} called Deno.exit()`
    : `an uncaught error: ${
      cause instanceof Error ? describeCause(cause.message) : describeCause(cause)
    }`;
}
