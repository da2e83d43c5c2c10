/**
 * The checks of CPython's own `multiprocessing.Pool` tests
 * (Lib/test/_test_multiprocessing.py, class _TestPool and friends), ported
 * to this pool: same behaviours, named after what they check.
 */
import assert from "node:assert/strict";
import { PoolClosedError, Recorder, TaskError } from "../lib/mod.ts";
import { Pool } from "./_pool.ts";
import { bounded } from "./_deadline.ts";

function sqr(x: number): number {
  return x * x;
}

function mul(x: number, y: number): number {
  return x * y;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test(
  "`Pool.apply()` returns the function's result",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    assert.equal(await pool.apply(sqr, [5]), 25);
    assert.equal(await pool.apply(mul, [3, 4]), 12);
  }),
);

Deno.test(
  "`Pool.map()` returns the results in order",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    assert.deepEqual(await pool.map(sqr, range(10)), range(10).map(sqr));
    assert.deepEqual(await pool.map(sqr, range(100)), range(100).map(sqr));
  }),
);

Deno.test(
  "`Pool.map()` with a chunk size returns the same results",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    for (const chunkSize of [1, 3, 50, 100, 1000]) {
      assert.deepEqual(await pool.map(sqr, range(100), { chunkSize }), range(100).map(sqr));
    }
  }),
);

Deno.test(
  "`Pool.starmap()` spreads each tuple, with and without a chunk size",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    const tuples = range(10).map((i) => [i, i + 1] as [number, number]);
    assert.deepEqual(await pool.starmap(mul, tuples), tuples.map(([a, b]) => a * b));
    assert.deepEqual(
      await pool.starmap(mul, tuples, { chunkSize: 3 }),
      tuples.map(([a, b]) => a * b),
    );
  }),
);

Deno.test(
  "`Pool.imap()` yields the results in order",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    assert.deepEqual(await collect(pool.imap(sqr, range(10))), range(10).map(sqr));
    const it = pool.imap(sqr, range(10));
    for (let i = 0; i < 10; i++) assert.equal((await it.next()).value, sqr(i));
    assert.equal((await it.next()).done, true);
  }),
);

Deno.test(
  "`Pool.imap()` with a chunk size yields the results in order",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    assert.deepEqual(
      await collect(pool.imap(sqr, range(1000), { chunkSize: 100 })),
      range(1000).map(sqr),
    );
  }),
);

Deno.test(
  "`Pool.imapUnordered()` yields every result",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    const results = await collect(pool.imapUnordered(sqr, range(1000)));
    assert.deepEqual(results.sort((a, b) => a - b), range(1000).map(sqr));
    const chunked = await collect(pool.imapUnordered(sqr, range(1000), { chunkSize: 53 }));
    assert.deepEqual(chunked.sort((a, b) => a - b), range(1000).map(sqr));
  }),
);

Deno.test(
  "`Pool.map()`, `starmap()`, `imap()` and `imapUnordered()` give empty results for an empty input",
  bounded(async () => {
    await using pool = new Pool({ workers: 4 });
    assert.deepEqual(await pool.map(sqr, []), []);
    assert.deepEqual(await pool.starmap(mul, []), []);
    assert.deepEqual(await collect(pool.imap(sqr, [])), []);
    assert.deepEqual(await collect(pool.imapUnordered(sqr, [])), []);
    assert.deepEqual(await pool.map(sqr, [], { chunkSize: 1 }), []);
  }),
);

Deno.test(
  "an input that throws midway: `Pool.imap()` yields what came before, then throws",
  bounded(async (t) => {
    function* exceptionThrowingGenerator(total: number, when: number) {
      for (let i = 0; i < total; i++) {
        if (i === when) throw new Error("SayWhenError");
        yield i;
      }
    }
    await using pool = new Pool({ workers: 4 });
    await t.step("imap", async () => {
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (
          const value of pool.imap(sqr, exceptionThrowingGenerator(10, 3), { chunkSize: 1 })
        ) {
          seen.push(value);
        }
      }, { message: "SayWhenError" });
      assert.deepEqual(seen, [0, 1, 4]);
    });
    await t.step("imap with a chunk size", async () => {
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (
          const value of pool.imap(sqr, exceptionThrowingGenerator(20, 7), { chunkSize: 2 })
        ) {
          seen.push(value);
        }
      }, { message: "SayWhenError" });
      assert.deepEqual(seen, range(7).map(sqr));
    });
    await t.step("imapUnordered", async () => {
      const seen: number[] = [];
      await assert.rejects(async () => {
        for await (const value of pool.imapUnordered(sqr, exceptionThrowingGenerator(10, 3))) {
          seen.push(value);
        }
      }, { message: "SayWhenError" });
      assert.deepEqual(seen.sort((a, b) => a - b), [0, 1, 4]);
    });
    await t.step("map", async () => {
      await assert.rejects(pool.map(sqr, exceptionThrowingGenerator(10, 3)), {
        message: "SayWhenError",
      });
    });
  }),
);

Deno.test(
  "`Pool.terminate()` with pending work returns promptly and fails the work",
  bounded(async () => {
    const pool = new Pool({ workers: 4 });
    // 100 tasks of 5 s each: were terminate() to wait for them, the test would
    // run into its deadline instead of ending in milliseconds.
    const pending = pool.map(
      async (ms: number) => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        return ms;
      },
      range(100).map(() => 5000),
      { chunkSize: 1 },
    );
    await pool.terminate();
    await assert.rejects(pending, PoolClosedError);
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`maxTasksPerChild` replaces workers, and the results stay right",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 3, maxTasksPerChild: 10, recorder });
    const items = range(100);
    assert.deepEqual(await pool.map(sqr, items, { chunkSize: 1 }), items.map(sqr));
    const workers = new Set(recorder.spans.map((span) => span.row));
    assert.ok(workers.size >= 10, `saw ${workers.size} workers`);
  }),
);

Deno.test(
  "`initializer` runs in each worker with its `initArgs`",
  bounded(async () => {
    await using pool = new Pool({
      workers: 2,
      initializer: (value: unknown) => {
        (globalThis as { initialized?: unknown }).initialized = value;
      },
      initArgs: ["ready"],
    });
    const seen = await pool.map(
      () => (globalThis as { initialized?: unknown }).initialized,
      range(8),
      {
        chunkSize: 1,
      },
    );
    assert.deepEqual(seen, range(8).map(() => "ready"));
  }),
);

Deno.test(
  "`await using`, the context manager, closes and joins the pool",
  bounded(async () => {
    let outer: Pool;
    {
      await using pool = new Pool({ workers: 4 });
      outer = pool;
      assert.deepEqual(await pool.map(sqr, range(10)), range(10).map(sqr));
    }
    assert.equal(outer.liveWorkers, 0);
    await assert.rejects(outer.map(sqr, [1]), PoolClosedError);
  }),
);

Deno.test(
  "`TaskError.cause` carries the worker's stack, the remote traceback",
  bounded(async () => {
    function raiseLargeValueError(): never {
      throw new RangeError("x".repeat(1000));
    }
    await using pool = new Pool({ workers: 1 });
    const error = await pool.apply(raiseLargeValueError, []).catch((e) => e);
    assert.ok(error instanceof TaskError);
    const cause = error.cause as Error;
    assert.ok(cause instanceof RangeError);
    assert.equal(cause.message, "x".repeat(1000));
    assert.match(cause.stack ?? "", /raiseLargeValueError/);
    assert.match(cause.stack ?? "", /task:raiseLargeValueError/);
  }),
);

Deno.test(
  "`new Pool()` refuses invalid pool sizes",
  () => {
    for (const workers of [-1, 0, 0.5, NaN]) {
      assert.throws(() => new Pool({ workers }), RangeError);
    }
  },
);

Deno.test(
  "`Pool.apply()` on a closed pool rejects with PoolClosedError",
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    pool.close();
    await assert.rejects(pool.apply(sqr, [1]), PoolClosedError);
    await pool.join();
  }),
);
