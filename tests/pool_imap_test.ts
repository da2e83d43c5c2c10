/**
 * `Pool.imap()` and `Pool.imapUnordered()`: results stream out while the
 * input is still read, no further ahead of the reader than `maxInFlight`;
 * `imap` in input order, `imapUnordered` as they finish.
 */
import assert from "node:assert/strict";
import { Pool, threadsOnly } from "./_pool.ts";
import { bounded, raise, within } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

/**
 * Returns `value` once `gate` is open (no longer 0), at once when it is
 * `null`. It waits without holding its worker's thread.
 */
async function afterGate([value, gate]: [number, Int32Array | null]): Promise<number> {
  while (gate !== null && Atomics.load(gate, 0) === 0) {
    const wait = Atomics.waitAsync(gate, 0, 0);
    if (wait.async) await wait.value;
  }
  return value;
}

Deno.test(
  "`Pool.imap()` yields in input order and streams before the input ends",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    let pulled = 0;
    function* naturals() {
      for (let n = 0;; n++) {
        pulled++;
        yield n;
      }
    }
    const seen: number[] = [];
    for await (const value of pool.imap(square, naturals(), { chunkSize: 3 })) {
      seen.push(value);
      if (seen.length === 1) assert.ok(pulled < 1000, "first result came before the input ended");
      if (seen.length === 50) break;
    }
    assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => i * i));
  }),
);

Deno.test(
  "`Pool.imap()` pulls at most maxInFlight items ahead of a slow consumer",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    let pulled = 0;
    function* naturals() {
      for (let n = 0;; n++) {
        pulled++;
        yield n;
      }
    }
    let consumed = 0;
    let maxAhead = 0;
    for await (const _ of pool.imap(square, naturals(), { maxInFlight: 8 })) {
      consumed++;
      maxAhead = Math.max(maxAhead, pulled - consumed);
      // The slow consumer under test: each pause is a chance for the pool to
      // read further ahead than its window, which it must not take.
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (consumed === 60) break;
    }
    assert.ok(maxAhead <= 9, `pulled ${maxAhead} ahead`);
  }),
);

Deno.test(
  "`Pool.imap()` delivers the results before an input error, then throws it",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    function* failing() {
      yield 1;
      yield 2;
      yield 3;
      throw new Error("input broke");
    }
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const value of pool.imap(square, failing())) seen.push(value);
    }, { message: "input broke" });
    assert.deepEqual(seen, [1, 4, 9]);
  }),
);

Deno.test(
  threadsOnly("`Pool.imapUnordered()` yields every result, fastest first"),
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    // The slow item waits until the three fast ones have been read: held back
    // behind it, they never would be, and the deadline fails the test.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const items: [number, Int32Array | null][] = [[200, gate], [1, null], [1, null], [1, null]];
    const slowFirst: number[] = [];
    try {
      await within(
        (async () => {
          for await (const value of pool.imapUnordered(afterGate, items)) {
            slowFirst.push(value);
            if (slowFirst.length === 3) raise(gate);
          }
        })(),
        "every result",
        10_000,
      );
    } finally {
      raise(gate);
    }
    assert.deepEqual([...slowFirst].sort((a, b) => a - b), [1, 1, 1, 200]);
    assert.equal(slowFirst.at(-1), 200);
  }),
);
