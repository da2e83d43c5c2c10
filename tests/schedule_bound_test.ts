import assert from "node:assert/strict";
import { bestFinish, workerPaces } from "../bench/schedule_bound.ts";
import { seededRandom } from "./_random.ts";
import type { Span } from "../lib/recorder.ts";

/** Every way of splitting `items` between two workers, the best of them. */
function bestOfAllSplits(
  [a, b]: { start: number; pace: number }[],
  items: number,
): number {
  let best = Infinity;
  for (let onA = 0; onA <= items; onA++) {
    const ends = [];
    if (onA > 0) ends.push(a.start + onA * a.pace);
    if (onA < items) ends.push(b.start + (items - onA) * b.pace);
    best = Math.min(best, Math.max(...ends));
  }
  return best;
}

Deno.test("`bestFinish()` equals the best of every split between two workers", () => {
  const random = seededRandom(4);
  for (let trial = 0; trial < 500; trial++) {
    const workers = [
      { start: random() * 40, pace: 5 + random() * 20 },
      { start: random() * 200, pace: 5 + random() * 20 },
    ];
    const items = 1 + Math.floor(random() * 80);
    const expected = bestOfAllSplits(workers, items);
    assert.ok(
      Math.abs(bestFinish(workers, items) - expected) < 1e-9,
      `${JSON.stringify(workers)}, ${items} items: expected ${expected}`,
    );
  }
});

Deno.test("`bestFinish()` splits evenly between equal workers and leaves out a late one", () => {
  const equal = { start: 20, pace: 15 };
  assert.equal(bestFinish([equal, equal], 64), 20 + 32 * 15);
  assert.equal(bestFinish([equal], 64), 20 + 64 * 15);
  // Three items take 65 ms on the first worker; one starting at 100 gets none.
  assert.equal(bestFinish([equal, { start: 100, pace: 1 }], 3), 65);
});

Deno.test("`bestFinish()` refuses no items and no workers", () => {
  assert.throws(() => bestFinish([{ start: 0, pace: 1 }], 0), RangeError);
  assert.throws(() => bestFinish([], 3), RangeError);
});

Deno.test("`workerPaces()` reads each worker's first start and time per item from its spans", () => {
  const span = (row: string, start: number, end: number): Span => ({
    row,
    start,
    end,
    label: "",
    kind: "run",
  });
  const paces = workerPaces([
    span("worker 2", 40, 56),
    span("worker 1", 15, 30),
    span("worker 2", 56.5, 72),
    span("worker 1", 30.3, 45),
    span("worker 1", 45.2, 60),
  ]);
  assert.deepEqual(paces, [{ start: 40, pace: 16 }, { start: 15, pace: 15 }]);
});
