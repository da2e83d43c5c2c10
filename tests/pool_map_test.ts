/**
 * `Pool.map()`, `Pool.starmap()` and `Pool.mapSettled()`: a whole input in,
 * every result out, in input order, whatever the chunk size and however the
 * items travel; a failure names its item.
 */
import assert from "node:assert/strict";
import { Recorder, TaskError } from "../lib/mod.ts";
import { Pool, threadsOnly } from "./_pool.ts";
import { bounded } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

Deno.test(
  "`Pool.map()` keeps input order for every chunk size",
  bounded(async () => {
    await using pool = new Pool({ workers: 3 });
    const items = Array.from({ length: 103 }, (_, i) => i);
    const expected = items.map(square);
    for (const chunkSize of [undefined, 1, 2, 7, 50, 103, 1000]) {
      assert.deepEqual(
        await pool.map(square, items, { chunkSize }),
        expected,
        `chunkSize ${chunkSize}`,
      );
    }
  }),
);

Deno.test(
  threadsOnly("`Pool.map()` runs the work inside the workers, not on the main thread"),
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 3, recorder });
    const inWorker = await pool.map(
      (n: number) => ({
        n,
        worker: typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope,
      }),
      [1, 2, 3, 4, 5],
      { chunkSize: 1 },
    );
    assert.ok(inWorker.every((r) => r.worker === "function"), "each task saw a worker scope");
    const rows = new Set(recorder.spans.map((span) => span.row));
    assert.equal(recorder.spans.length, 5);
    assert.ok([...rows].every((row) => /^worker \d+$/.test(row)));
  }),
);

Deno.test(
  "`Pool.map()` accepts arrays, iterables, generators and async iterables",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    function* gen() {
      yield* [1, 2, 3];
    }
    async function* agen() {
      yield* [1, 2, 3];
    }
    assert.deepEqual(await pool.map(square, new Set([1, 2, 3])), [1, 4, 9]);
    assert.deepEqual(await pool.map(square, gen()), [1, 4, 9]);
    assert.deepEqual(await pool.map(square, agen()), [1, 4, 9]);
    assert.deepEqual(await pool.map(square, []), []);
  }),
);

Deno.test(
  "`Pool.map()` round-trips NaN, Infinity, -0, undefined and holes as `Array.prototype.map` does",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const numbers = [NaN, Infinity, -Infinity, -0, 0, 1.5, -2, Number.MAX_VALUE, 5e-324, 9, 10];
    const identity = (x: unknown) => x;
    // Chunks of 2 travel as arrays, a chunk of 11 packed in a Float64Array, and
    // one of 4,400 packed in shared memory.
    const many = Array.from({ length: 400 }, () => numbers).flat();
    for (const [input, chunkSize] of [[numbers, 2], [numbers, 11], [many, many.length]] as const) {
      const result = await pool.map(identity, input, { chunkSize });
      assert.equal(result.length, input.length);
      input.forEach((n, i) =>
        assert.ok(Object.is(result[i], n), `index ${i}: ${result[i]} vs ${n}`)
      );
    }
    // deno-lint-ignore no-sparse-arrays
    const holey = [1, , 3, undefined, 5];
    const mapped = await pool.map((x: unknown) => x === undefined ? "undef" : x, holey, {
      chunkSize: 2,
    });
    assert.deepEqual(mapped, holey.map((x) => x === undefined ? "undef" : x));
    assert.ok(!(1 in mapped), "a hole stays a hole");
  }),
);

Deno.test(
  "`Pool.map()` works on the input as it was at the call, whatever changes after",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const numbers = Array.from({ length: 40 }, (_, i) => i);
    const words = numbers.map((n) => `w${n}`);
    const squares = pool.map(square, numbers, { chunkSize: 10 });
    const upper = pool.map((w: string) => w.toUpperCase(), words, { chunkSize: 10 });
    numbers.fill(-1);
    words.fill("changed");
    assert.deepEqual(await squares, Array.from({ length: 40 }, (_, i) => i * i));
    assert.deepEqual(await upper, Array.from({ length: 40 }, (_, i) => `W${i}`));
  }),
);

Deno.test(
  "`Pool.map()` fails with TaskError naming the item, and the pool stays usable",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const error = await pool.map((n: number) => {
      if (n === 3) throw new TypeError(`cannot take ${n}`);
      return n;
    }, [1, 2, 3, 4]).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.equal(error.index, 2);
    assert.match(error.message, /^Task 2 failed: TypeError: cannot take 3$/);
    assert.ok(error.cause instanceof TypeError);
    assert.equal((error.cause as Error).message, "cannot take 3");
    assert.match((error.cause as Error).stack ?? "", /cannot take 3/);
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  }),
);

Deno.test(
  "`Pool.starmap()` spreads each argument list",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    assert.deepEqual(
      await pool.starmap((a: number, b: number) => a ** b, [[2, 3], [3, 2], [10, 0]], {
        chunkSize: 2,
      }),
      [8, 9, 1],
    );
  }),
);

Deno.test(
  "`Pool.mapSettled()` reports every item, failed or not, in order",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const outcomes = await pool.mapSettled(
      (n: number) => {
        if (n % 3 === 0) throw new RangeError(`bad ${n}`);
        return n;
      },
      [1, 2, 3, 4, 5, 6],
      { chunkSize: 4 },
    );
    assert.deepEqual(outcomes.map((o) => o.status), [
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
      "fulfilled",
      "rejected",
    ]);
    const third = outcomes[2];
    assert.ok(third.status === "rejected" && third.reason instanceof TaskError);
    assert.equal(third.reason.index, 2);
    assert.ok(third.reason.cause instanceof RangeError);
  }),
);

Deno.test(
  "`Pool.mapSettled()` keeps every result of a chunk of numbers whose results stop being numbers",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    // Numbers, then strings, a promise, a throw and numbers again, all in chunks
    // of 20; 45 throws inside a chunk whose results are all numbers.
    const mixed = (n: number) => {
      if (n === 25 || n === 45) throw new RangeError(`no ${n}`);
      if (n === 27) return Promise.resolve(n * 2);
      if (n >= 20 && n < 30) return `s${n}`;
      return n * 2;
    };
    const items = Array.from({ length: 60 }, (_, i) => i);
    const settled = await pool.mapSettled(mixed, items, { chunkSize: 20 });
    settled.forEach((outcome, n) => {
      if (n === 25 || n === 45) {
        assert.equal(outcome.status, "rejected");
        return;
      }
      const expected = n === 27 ? 54 : n >= 20 && n < 30 ? `s${n}` : n * 2;
      assert.deepEqual(outcome, { status: "fulfilled", value: expected }, `item ${n}`);
    });
    // Without settle, the first failure ends the call and names its item.
    await assert.rejects(
      pool.map(mixed, items, { chunkSize: 20 }),
      /Task (25|45) \(mixed\) failed/,
    );
    await assert.rejects(pool.map(mixed, items.slice(40), { chunkSize: 20 }), /Task 5 \(mixed\)/);
  }),
);

Deno.test(
  "`Pool.mapSettled()` keeps every result of a chunk of numbers in shared memory whose results stop being numbers",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const mixed = (n: number) => {
      if (n === 6000) throw new RangeError(`no ${n}`);
      if (n === 7000) return Promise.resolve(-n);
      if (n >= 100 && n < 110) return `s${n}`;
      return n * 2;
    };
    const items = Array.from({ length: 10_000 }, (_, i) => i);
    const settled = await pool.mapSettled(mixed, items, { chunkSize: 5000 });
    settled.forEach((outcome, n) => {
      if (n === 6000) return assert.equal(outcome.status, "rejected");
      const expected = n === 7000 ? -n : n >= 100 && n < 110 ? `s${n}` : n * 2;
      assert.deepEqual(outcome, { status: "fulfilled", value: expected }, `item ${n}`);
    });
  }),
);
