/**
 * The order in which a comparison's contenders run in each round.
 *
 * A contender is timed in the state the one before it left: the garbage it
 * made, and how awake it left the CPUs (a Python pool that has just used
 * both cores leaves them quick to wake, and the awaited call timed right
 * after it looks faster). Starting each round one contender further along
 * does not help: the contenders keep their cyclic order, so each one follows
 * the same other one in nearly every round. The rows here are a Williams
 * design, a Latin square in which every contender runs right after every
 * other one equally often.
 *
 * @module
 */

/**
 * The order of `count` contenders, by index, in round `round` (from 0).
 * Rows repeat every `count` rounds when `count` is even and every
 * `2 × count` when it is odd; over one such cycle, each contender runs right
 * after each other one once (even) or twice (odd).
 *
 * @example
 * ```ts
 * import { roundOrder } from "./round_order.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(roundOrder(4, 0), [0, 1, 3, 2]);
 * assert.deepEqual(roundOrder(4, 1), [1, 2, 0, 3]);
 * ```
 */
export function roundOrder(count: number, round: number): number[] {
  // The first row goes 0, 1, n-1, 2, n-2, ...; row r adds r to each entry.
  // For an odd count that alone repeats some successions, and the mirror
  // images of the rows (the rounds from `count` on) make up for them.
  const rows = count % 2 === 0 ? count : 2 * count;
  const row = round % rows;
  const order: number[] = [];
  let low = 1;
  let high = count - 1;
  for (let k = 0; k < count; k++) {
    const first = k === 0 ? 0 : k % 2 === 1 ? low++ : high--;
    order.push((first + row) % count);
  }
  return row < count ? order : order.reverse();
}
