/**
 * Running a batch: the chunks of one message, in order, each claimed before
 * it starts (the pool may have taken it back) and its results held or sent.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import { CLAIM_DONE, CLAIM_RUNNING, type RunChunk } from "../_protocol.ts";
import { beforeChunk, flushResults, hold } from "./results.ts";
import { runChunk } from "./run_chunk.ts";
import { stopped, type WorkerState } from "./state.ts";

/**
 * Runs a batch's chunks from `from` on, and sends their results.
 *
 * @param w The worker's state.
 * @param chunks The batch.
 * @param from The first chunk to run.
 * @returns A promise while a task's promise is awaited.
 */
export function runBatch(
  w: WorkerState,
  chunks: readonly RunChunk[],
  from: number,
): void | Promise<void> {
  for (let k = from; k < chunks.length; k++) {
    if (stopped(w)) return;
    const chunk = chunks[k];
    if (w.held.length > 0) beforeChunk(w);
    if (!claim(w, chunk)) continue;
    const result = runChunk(w, chunk);
    if (result instanceof Promise) {
      // The worker waits for the promise with nothing else to do: what
      // is done goes now.
      flushResults(w);
      return result.then((done) => {
        release(w, chunk);
        hold(w, done);
        return runBatch(w, chunks, k + 1);
      });
    }
    release(w, chunk);
    hold(w, result);
  }
  flushResults(w);
}

/**
 * Marks a chunk as started.
 *
 * @returns `false` when the pool has taken it back, and it must be skipped.
 */
export function claim(w: WorkerState, [, slot, tag]: RunChunk): boolean {
  return w.claims === null || Atomics.compareExchange(w.claims, slot, tag, CLAIM_RUNNING) === tag;
}

/** Marks a chunk as done: too late to take back, its results are on their way. */
export function release(w: WorkerState, [, slot]: RunChunk): void {
  if (w.claims !== null) Atomics.store(w.claims, slot, CLAIM_DONE);
}
