/**
 * What becomes of a batch that could not be sent because an item in it
 * cannot be cloned: the items at fault fail with an error that names their
 * index, and the rest are sent again.
 *
 * @module
 */

import type { Chunk } from "./call.ts";
import { describeCause } from "../errors.ts";

/** Items `from ..< to` of `chunk`, to go back to the front of the queue as a chunk of their own. */
export interface Part {
  readonly chunk: Chunk;
  readonly from: number;
  readonly to: number;
  /** Workers the new chunk has killed: none, as none of its items ran. */
  readonly crashes: 0;
}

/**
 * Finds the items at fault in a batch that could not be cloned (this runs
 * only on failure, so trying each one is affordable), fails them, and hands
 * each run of good items between them to `requeue`, last chunk first.
 * Returns the chunks to send again at once, alone, in batch order.
 *
 * Where no item of a chunk is at fault on its own (a getter that throws only
 * on some reads), the chunk is sent again alone: were it queued again with
 * the others, the next batch could fail the same way, and the pool would try
 * it for ever, one microtask after another. Alone, a chunk that still cannot
 * be sent fails each of its items, each sharing the blame for `batchError`.
 */
export function splitUnsendable(
  chunks: readonly Chunk[],
  batchError: unknown,
  requeue: (part: Part) => void,
): Chunk[] {
  const alone: Chunk[] = [];
  for (let c = chunks.length - 1; c >= 0; c--) {
    const chunk = chunks[c];
    const call = chunk.call;
    const reasons = cloneFaults(chunk);
    if (reasons.size === 0) {
      if (chunks.length > 1) {
        alone.unshift(chunk);
        continue;
      }
      // Alone, and still no item at fault on its own: each shares the blame.
      for (let i = 0; i < chunk.items.length; i++) reasons.set(i, cloneFailure(batchError));
    }
    let from = 0;
    for (const [i, reason] of reasons) {
      if (call.finished) break;
      call.itemFailed(
        chunk.start + i,
        new TypeError(
          `Cannot send item ${chunk.start + i} to a worker: ${reason} ` +
            `(items must be structured-cloneable: no functions, symbols or objects with methods)`,
        ),
      );
      if (i > from) requeue({ chunk, from, to: i, crashes: 0 });
      from = i + 1;
    }
    if (!call.finished && from < chunk.items.length) {
      requeue({ chunk, from, to: chunk.items.length, crashes: 0 });
    }
  }
  return alone;
}

/** Why each item of `chunk` that cannot be cloned on its own cannot, by index, in order. */
function cloneFaults(chunk: Chunk): Map<number, string> {
  const reasons = new Map<number, string>();
  for (let i = 0; i < chunk.items.length; i++) {
    try {
      structuredClone(chunk.items[i]);
    } catch (error) {
      reasons.set(i, cloneFailure(error));
    }
  }
  return reasons;
}

/** Why a value could not be cloned: what a getter threw may be anything, even what String() throws on. */
function cloneFailure(error: unknown): string {
  return error instanceof Error ? describeCause(error.message) : describeCause(error);
}
