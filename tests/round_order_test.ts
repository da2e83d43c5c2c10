import assert from "node:assert/strict";
import { roundOrder } from "../bench/round_order.ts";

/** How often each contender runs right after each other one over `rounds` rounds. */
function successions(count: number, rounds: number): Map<string, number> {
  const seen = new Map<string, number>();
  for (let round = 0; round < rounds; round++) {
    const order = roundOrder(count, round);
    for (let i = 1; i < count; i++) {
      const key = `${order[i - 1]}>${order[i]}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return seen;
}

Deno.test("`roundOrder()` runs each contender once in every round", () => {
  for (let count = 1; count <= 9; count++) {
    for (let round = 0; round < 20; round++) {
      const order = roundOrder(count, round);
      assert.deepEqual([...order].sort((a, b) => a - b), [...Array(count).keys()]);
    }
  }
});

Deno.test("`roundOrder()` over a cycle of rounds has each contender follow every other one equally often", () => {
  for (let count = 2; count <= 9; count++) {
    const cycle = count % 2 === 0 ? count : 2 * count;
    const seen = successions(count, cycle);
    // Every ordered pair of different contenders, as often as every other.
    assert.equal(seen.size, count * (count - 1), `count ${count}`);
    assert.deepEqual(new Set(seen.values()), new Set([count % 2 === 0 ? 1 : 2]), `count ${count}`);
  }
});

Deno.test("`roundOrder()` in five rounds of four contenders has none follow the same one in most rounds", () => {
  // Rotating a fixed order put the last contender before the first in four
  // rounds of five; here no succession happens more than twice.
  const seen = successions(4, 5);
  assert.ok(Math.max(...seen.values()) <= 2);
});
