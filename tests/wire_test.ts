/**
 * How a chunk's items are packed for the trip to a worker: integers as
 * integers, other numbers as doubles, anything else as it is.
 */
import assert from "node:assert/strict";
import { pack, PACK_MIN, SHARE_MIN } from "../lib/_wire.ts";

const ints = [0, 1, -1, 7, 2 ** 31 - 1, -(2 ** 31), 42, 27];

Deno.test("`pack()` hands a chunk of int32 integers over as an Int32Array", () => {
  const packed = pack(ints, 0, ints.length);
  assert.ok(packed instanceof Int32Array, String(packed));
  assert.deepEqual([...packed], ints);
  assert.ok(!(packed.buffer instanceof SharedArrayBuffer));
});

Deno.test("`pack()` hands every other chunk of numbers over as a Float64Array, value for value", async (t) => {
  const cases: [string, number][] = [
    ["-0", -0],
    ["a fraction", 0.5],
    ["2^31", 2 ** 31],
    ["-(2^31) - 1", -(2 ** 31) - 1],
    ["a large integer", Number.MAX_SAFE_INTEGER],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
  ];
  for (const [what, odd] of cases) {
    await t.step(`${what}, first or last`, () => {
      for (const items of [[odd, ...ints], [...ints, odd]]) {
        const packed = pack(items, 0, items.length);
        assert.ok(packed instanceof Float64Array, String(packed));
        items.forEach((n, i) => assert.ok(Object.is(packed[i], n), `index ${i}: ${packed[i]}`));
      }
    });
  }
});

Deno.test("`pack()` leaves a chunk as an array when any item is not a number, or it is short", () => {
  // deno-lint-ignore no-sparse-arrays
  const holey = [1, 2, 3, , 5, 6, 7, 8];
  for (const items of [[...ints, "1"], [...ints, 1n], [...ints, true], [...ints, null], holey]) {
    assert.equal(pack(items, 0, items.length), null, String(items));
  }
  assert.equal(pack(ints, 0, PACK_MIN - 1), null);
});

Deno.test("`pack()` packs the range it is given, in shared memory from SHARE_MIN items up", () => {
  const many = Array.from({ length: SHARE_MIN + 2 }, (_, i) => i);
  const packed = pack(many, 1, SHARE_MIN + 1);
  assert.ok(packed instanceof Int32Array && packed.buffer instanceof SharedArrayBuffer);
  assert.equal(packed.length, SHARE_MIN);
  assert.equal(packed[0], 1);
  assert.equal(packed[SHARE_MIN - 1], SHARE_MIN);
  many[SHARE_MIN] = 0.5;
  const doubles = pack(many, 1, SHARE_MIN + 1);
  assert.ok(doubles instanceof Float64Array && doubles.buffer instanceof SharedArrayBuffer);
  assert.equal(doubles[SHARE_MIN - 1], 0.5);
  assert.equal(doubles[SHARE_MIN - 2], SHARE_MIN - 1);
});

Deno.test("`pack()` never calls an item's valueOf", () => {
  let called = 0;
  const sneaky = { valueOf: () => ++called };
  assert.equal(pack([...ints, sneaky], 0, ints.length + 1), null);
  assert.equal(called, 0);
});
