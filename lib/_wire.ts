/**
 * How a chunk's items travel to a worker: numbers packed in a typed array,
 * anything else in a plain array that the structured clone copies.
 *
 * @module
 */

/** Items of a chunk packed as numbers: integers as `Int32Array`, any other numbers as `Float64Array`. */
export type PackedNumbers = Int32Array | Float64Array;

/** Below this many numbers a plain array is cheaper to send than a packed one. */
export const PACK_MIN = 8;
/**
 * From this many numbers up, a chunk is packed in shared memory, which a
 * message hands over without copying.
 */
export const SHARE_MIN = 4096;

/**
 * `items[from ..< to]` packed in a typed array when every one is a number,
 * else `null`. Packed numbers cost the structured clone a copy of bytes
 * instead of a walk over the items, on the way out and back.
 *
 * Integers in int32 range travel as an `Int32Array`, so a task reads each
 * item as the small integer a plain loop would pass it: V8 then compiles the
 * task for integer arithmetic. Read from a `Float64Array`, the same items
 * are doubles, and a call-heavy integer task such as `fib` ran at about half
 * speed (64 × fib(27): 142-150 ms against 81-82 ms, 2 cores). `-0` is not an
 * int32 (it would arrive as `0`), so a chunk holding it goes as doubles.
 *
 * @example
 * ```ts
 * import { pack } from "./_wire.ts";
 * import assert from "node:assert/strict";
 *
 * const ints = [1, 2, 3, 4, 5, 6, 7, 8];
 * assert.ok(pack(ints, 0, 8) instanceof Int32Array);
 * assert.ok(pack([...ints, 0.5], 0, 9) instanceof Float64Array);
 * assert.equal(pack([...ints, "9"], 0, 9), null);
 * ```
 */
export function pack(items: readonly unknown[], from: number, to: number): PackedNumbers | null {
  const n = to - from;
  if (n < PACK_MIN) return null;
  const shared = n >= SHARE_MIN;
  const ints = new Int32Array(shared ? new SharedArrayBuffer(4 * n) : new ArrayBuffer(4 * n));
  let i = from;
  for (; i < to; i++) {
    // A hole reads as undefined, so an input with holes stays an array.
    const item = items[i];
    // `| 0` returns an int32 as it is and changes any other number; -0
    // passes it, but would come back as 0. The `typeof` comes first, as `| 0`
    // would call an object's `valueOf` and throws on a BigInt.
    if (typeof item !== "number" || (item | 0) !== item || (item === 0 && 1 / item < 0)) break;
    ints[i - from] = item;
  }
  if (i === to) return ints;
  const numbers = new Float64Array(
    shared ? new SharedArrayBuffer(8 * n) : new ArrayBuffer(8 * n),
  );
  for (let j = from; j < i; j++) numbers[j - from] = ints[j - from];
  for (; i < to; i++) {
    const item = items[i];
    if (typeof item !== "number") return null;
    numbers[i - from] = item;
  }
  return numbers;
}
