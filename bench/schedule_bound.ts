/**
 * The best any scheduler could do with the workers a run actually had.
 *
 * A CPU-bound job of equal items ends when the last worker finishes its
 * share, and no scheduler can make a worker start sooner or run faster than
 * it did. Read from a recorded run, each worker's first start and its pace
 * (from that start to its last end, per item) give the earliest the job could
 * have ended had its items been dealt out perfectly, with no cost of dealing
 * them: the ceiling against which the pool's own time is judged.
 *
 * @module
 */

import type { Span } from "../lib/recorder.ts";

/** One worker as a run found it. */
export interface WorkerPace {
  /** When it started its first item, in ms on the run's clock. */
  readonly start: number;
  /** Its time per item, in ms, the gaps between items included. */
  readonly pace: number;
}

/**
 * Each worker's first start and pace, from the spans a `Recorder` kept of a
 * run of one item per chunk. Times stay on the recorder's clock.
 *
 * @example
 * ```ts
 * import { workerPaces } from "./schedule_bound.ts";
 * import assert from "node:assert/strict";
 *
 * const run = (row: string, start: number, end: number) =>
 *   ({ row, start, end, label: "", kind: "run" as const });
 * const paces = workerPaces([
 *   run("worker 1", 10, 25), run("worker 2", 30, 45), run("worker 1", 25, 41),
 * ]);
 * assert.deepEqual(paces, [{ start: 10, pace: 15.5 }, { start: 30, pace: 15 }]);
 * ```
 */
export function workerPaces(spans: readonly Span[]): WorkerPace[] {
  const rows = new Map<string, { start: number; end: number; items: number }>();
  for (const span of spans) {
    const row = rows.get(span.row);
    if (row === undefined) rows.set(span.row, { start: span.start, end: span.end, items: 1 });
    else {
      row.start = Math.min(row.start, span.start);
      row.end = Math.max(row.end, span.end);
      row.items++;
    }
  }
  return [...rows.values()].map(({ start, end, items }) => ({
    start,
    pace: (end - start) / items,
  }));
}

/**
 * The earliest time `items` equal items can all be done on `workers`, each
 * item whole on one worker, each worker beginning at its `start` and taking
 * `pace` per item (at least one item, on at least one worker). Each item goes
 * where it would be done soonest, which for equal items is the best split
 * there is.
 *
 * @example Two workers, the second a whole item late
 * ```ts
 * import { bestFinish } from "./schedule_bound.ts";
 * import assert from "node:assert/strict";
 *
 * const workers = [{ start: 0, pace: 15 }, { start: 15, pace: 15 }];
 * // 33 items on the first, 31 on the second: 495 ms, not 480.
 * assert.equal(bestFinish(workers, 64), 495);
 * ```
 */
export function bestFinish(workers: readonly WorkerPace[], items: number): number {
  if (workers.length === 0 || !(items >= 1)) {
    throw new RangeError(`Cannot split ${items} items over ${workers.length} workers`);
  }
  const done = workers.map((worker) => worker.start);
  let finish = -Infinity;
  for (let item = 0; item < items; item++) {
    let best = 0;
    for (let i = 1; i < workers.length; i++) {
      if (done[i] + workers[i].pace < done[best] + workers[best].pace) best = i;
    }
    done[best] += workers[best].pace;
    finish = Math.max(finish, done[best]);
  }
  return finish;
}
