/**
 * A finished result reaches the caller while its worker goes on with other
 * work: the pool sends chunks to a worker many at a time, and the worker
 * must not hold what is done until the rest of them are.
 */
import assert from "node:assert/strict";
import { Pool } from "../lib/mod.ts";
import { bounded, raise, within } from "./_deadline.ts";

/** Quick tasks first, so that the pool sends its worker many chunks in one message. */
async function warmed(pool: Pool): Promise<void> {
  await Promise.all(Array.from({ length: 2000 }, (_, i) => pool.apply((x: number) => x, [i])));
}

/**
 * Returns `"quick"` at once for `null`, else waits until the gate opens, with
 * its worker's thread free, as a task awaiting I/O leaves it.
 */
async function gated(gate: Int32Array | null): Promise<string> {
  if (gate === null) return "quick";
  while (Atomics.load(gate, 0) === 0) {
    const wait = Atomics.waitAsync(gate, 0, 0);
    if (wait.async) await wait.value;
  }
  return "opened";
}

Deno.test(
  "`Pool.imapUnordered()` yields finished results while a later task of the same batch waits",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    await warmed(pool);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const items = [...Array.from({ length: 10 }, () => null), gate];
    const seen: string[] = [];
    // The gate opens only once the ten quick results are in: held back, they never would be.
    const consume = async () => {
      for await (const result of pool.imapUnordered(gated, items)) {
        seen.push(result);
        if (seen.length === 10) raise(gate);
      }
    };
    try {
      await within(consume(), "every result", 10_000);
    } finally {
      raise(gate);
    }
    assert.deepEqual(seen, [...Array.from({ length: 10 }, () => "quick"), "opened"]);
  }),
);

Deno.test(
  "`Pool.apply()` resolves while a task sent to its worker after it waits",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    await warmed(pool);
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const quick = pool.apply(gated, [null]);
    const waiting = pool.apply(gated, [gate]);
    try {
      assert.equal(await within(quick, "the quick call", 10_000), "quick");
    } finally {
      raise(gate);
    }
    assert.equal(await within(waiting, "the waiting call", 10_000), "opened");
  }),
);

/** Returns at once for `null`, else holds its worker's thread, busy, until the gate opens. */
function spinning(gate: Int32Array | null): string {
  if (gate === null) return "quick";
  while (Atomics.load(gate, 0) === 0);
  return "opened";
}

for (const settle of [false, true]) {
  Deno.test(
    `\`Pool.${
      settle ? "mapSettled" : "imapUnordered"
    }()\` gets finished results while a later task of the same batch holds its worker's thread`,
    bounded(async () => {
      await using pool = new Pool({ workers: 1 });
      await warmed(pool);
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const items = [...Array.from({ length: 10 }, () => null), gate];
      let seen = 0;
      // The gate opens only once the ten quick results are in: held back, they never would be.
      const consume = settle
        ? async () => {
          await pool.mapSettled(spinning, items, {
            chunkSize: 1,
            onProgress: (done) => (seen = done) === 10 && raise(gate),
          });
        }
        : async () => {
          for await (const _ of pool.imapUnordered(spinning, items)) {
            if (++seen === 10) raise(gate);
          }
        };
      try {
        await within(consume(), "every result", 10_000);
      } finally {
        raise(gate);
      }
      assert.equal(seen, 11);
    }),
  );
}

/** Returns `kind`'s result at once for `null`, else holds its worker's thread until the gate opens. */
function spinningWith(kind: string, gate: Int32Array | null): unknown {
  if (gate === null) {
    return kind === "number"
      ? 1
      : kind === "plain data"
      ? { quick: [true] }
      : kind === "a Map"
      ? new Map([["quick", 1]])
      : "quick";
  }
  while (Atomics.load(gate, 0) === 0);
  return "opened";
}

for (const kind of ["number", "string", "plain data", "a Map"]) {
  Deno.test(
    `\`Pool.apply()\` resolves with ${kind} while a task sent to its worker after it holds the worker's thread`,
    bounded(async () => {
      await using pool = new Pool({ workers: 1 });
      await warmed(pool);
      const gate = new Int32Array(new SharedArrayBuffer(4));
      const quick = Array.from({ length: 5 }, () => pool.apply(spinningWith, [kind, null]));
      const waiting = pool.apply(spinningWith, [kind, gate]);
      try {
        const results = await within(Promise.all(quick), "the quick calls", 10_000);
        assert.deepEqual(results, Array(5).fill(spinningWith(kind, null)));
      } finally {
        raise(gate);
      }
      assert.equal(await within(waiting, "the waiting call", 10_000), "opened");
    }),
  );
}
