/**
 * A call made before `close()` runs to completion, whatever its input and
 * however its results are read; `join()` waits for it, but never for a
 * reader that may not come.
 */
import assert from "node:assert/strict";
import { Pool, PoolClosedError } from "../lib/mod.ts";
import { bounded, within } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Calls a stream's `return()`, which every stream has. */
function stop<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
  assert.ok(it.return, "the stream has return()");
  return it.return();
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * An async input that takes a moment over each value: a call over it is still
 * reading it when `close()` comes, which is the case under test.
 */
async function* slowly<T>(values: Iterable<T>) {
  for (const value of values) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    yield value;
  }
}

/** An async input that never yields: its `next()` never settles. */
const stalled: AsyncIterable<number> = {
  [Symbol.asyncIterator]: () => ({
    next: () => new Promise<IteratorResult<number>>(() => {}),
    return: () => new Promise<IteratorResult<number>>(() => {}),
  }),
};

Deno.test(
  "every method called before `close()` runs to completion, over every input shape",
  bounded(async (t) => {
    const shapes: [string, () => Iterable<number> | AsyncIterable<number>][] = [
      ["an array", () => [1, 2, 3]],
      ["a Set", () => new Set([1, 2, 3])],
      ["a generator", function* () {
        yield* [1, 2, 3];
      }],
      ["an async generator", () => slowly([1, 2, 3])],
    ];
    for (const [shape, items] of shapes) {
      await t.step(shape, async () => {
        const pool = new Pool({ workers: 2 });
        const calls = [
          pool.map(square, items()),
          pool.mapSettled(square, items()).then((all) =>
            all.map((s) => s.status === "fulfilled" && s.value)
          ),
          collect(pool.imap(square, items())),
          collect(pool.imapUnordered(square, items())).then((all) => all.sort()),
        ];
        pool.close();
        for (const call of calls) assert.deepEqual(await within(call, shape), [1, 4, 9]);
        await within(pool.join(), "join()");
        assert.equal(pool.liveWorkers, 0);
      });
    }
    await t.step("a string", async () => {
      const pool = new Pool({ workers: 1 });
      const upper = (c: string) => c.toUpperCase();
      const calls = [pool.map(upper, "abc"), collect(pool.imap(upper, "abc"))];
      pool.close();
      for (const call of calls) assert.deepEqual(await within(call, "a string"), ["A", "B", "C"]);
      await within(pool.join(), "join()");
    });
    await t.step("starmap over a Set, and apply", async () => {
      const pool = new Pool({ workers: 1 });
      const add = (a: number, b: number) => a + b;
      const sums = pool.starmap(add, new Set([[1, 2], [3, 4]] as [number, number][]));
      const product = pool.apply((a: number, b: number) => a * b, [6, 7]);
      pool.close();
      assert.deepEqual(await within(sums, "starmap"), [3, 7]);
      assert.equal(await within(product, "apply"), 42);
      await within(pool.join(), "join()");
    });
  }),
);

Deno.test(
  "`Pool.join()` waits for a map still reading its input when `close()` is called",
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    let progressed = 0;
    const mapped = pool.map(square, slowly(range(20)), {
      onProgress: (done) => progressed = done,
    });
    pool.close();
    await within(pool.join(), "join()");
    assert.equal(progressed, 20, "every item was done when join() resolved");
    assert.deepEqual(await mapped, range(20).map(square));
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`Pool.imap()` called before `close()` runs to completion on an input longer than its window",
  bounded(async (t) => {
    for (const method of ["imap", "imapUnordered"] as const) {
      await t.step(method, async () => {
        const pool = new Pool({ workers: 2 });
        const it = pool[method](square, range(50), { maxInFlight: 4 });
        const fromAsync = pool[method](square, slowly(range(50)), { maxInFlight: 4 });
        pool.close();
        const byNumber = (a: number, b: number) => a - b;
        assert.deepEqual((await within(collect(it), method)).sort(byNumber), range(50).map(square));
        assert.deepEqual(
          (await within(collect(fromAsync), `${method} over an async input`)).sort(byNumber),
          range(50).map(square),
        );
        await within(pool.join(), "join()");
        assert.equal(pool.liveWorkers, 0);
      });
    }
  }),
);

Deno.test(
  "`Pool.join()` waits for a stream called before `close()` until its input ends and its results are in",
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    let progressed = 0;
    const it = pool.imap(
      // Each task takes a moment, so that its result is still to come when
      // join() is called: join() must wait for it.
      async (n: number) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return n * n;
      },
      [1, 2, 3],
      { onProgress: (done) => progressed = done },
    );
    pool.close();
    await within(pool.join(), "join()");
    assert.equal(progressed, 3, "every item was done when join() resolved");
    assert.equal(pool.liveWorkers, 0);
    // Its results are still there to read.
    assert.deepEqual(await within(collect(it), "reading after join()"), [1, 4, 9]);
  }),
);

Deno.test(
  "a stream nobody reads does not keep a closing pool open, and can still be read after `join()`",
  bounded(async (t) => {
    for (const method of ["imap", "imapUnordered"] as const) {
      await t.step(method, async () => {
        const pool = new Pool({ workers: 2 });
        const it = pool[method](square, range(100), { maxInFlight: 4 });
        pool.close();
        await within(pool.join(), "join() with the stream unread");
        assert.equal(pool.liveWorkers, 0);
        // Reading on starts workers for it again, and they end with it.
        const results = await within(collect(it), "reading after join()");
        assert.deepEqual(results.sort((a, b) => a - b), range(100).map(square));
        assert.equal(pool.liveWorkers, 0);
        await assert.rejects(pool.map(square, [1]), PoolClosedError);
      });
    }
  }),
);

Deno.test(
  "a stream read in part does not keep a closing pool open, and reads on after `join()`",
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    const it = pool.imap(square, range(100), { maxInFlight: 4 });
    assert.deepEqual(await it.next(), { done: false, value: 0 });
    pool.close();
    await within(pool.join(), "join() with the stream read in part");
    assert.equal(pool.liveWorkers, 0);
    assert.deepEqual(await within(collect(it), "reading on"), range(100).slice(1).map(square));
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`await using` ends when a stream made in its block is never read",
  bounded(async () => {
    let pulled = 0;
    function* naturals() {
      for (let n = 0;; n++) {
        pulled++;
        yield n;
      }
    }
    const block = async () => {
      await using pool = new Pool({ workers: 2 });
      pool.imap(square, naturals(), { maxInFlight: 8 });
    };
    await within(block(), "leaving the block");
    assert.ok(pulled <= 8, `pulled ${pulled} items with nobody reading`);
  }),
);

Deno.test(
  "a stream called before `close()` and broken out of lets the pool end",
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    let closed = false;
    function* naturals() {
      try {
        for (let n = 0;; n++) yield n;
      } finally {
        closed = true;
      }
    }
    const it = pool.imap(square, naturals());
    pool.close();
    for await (const value of it) if (value === 16) break;
    assert.ok(closed, "the input was asked to return");
    await within(pool.join(), "join()");
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`return()` before the first `next()` ends a stream's call and closes its input",
  bounded(async () => {
    const pool = new Pool({ workers: 1 });
    let closed = false;
    function* naturals() {
      try {
        for (let n = 0;; n++) yield n;
      } finally {
        closed = true;
      }
    }
    const it = pool.imap(square, naturals());
    assert.deepEqual(await within(stop(it), "return()"), { done: true, value: undefined });
    assert.ok(closed, "the input was asked to return");
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    pool.close();
    await within(pool.join(), "join()");
  }),
);

Deno.test(
  "a stream answers `next()` calls made at once in turn",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    for (const method of ["imap", "imapUnordered"] as const) {
      const it = pool[method](square, [1, 2, 3], { chunkSize: 1 });
      const steps = await within(Promise.all([it.next(), it.next(), it.next(), it.next()]), method);
      const values = steps.slice(0, 3).map((step) => step.value as number);
      assert.deepEqual(values.sort(), [1, 4, 9]);
      assert.deepEqual(steps[3], { done: true, value: undefined });
    }
  }),
);

Deno.test(
  "`terminate()` rejects a map still reading its input and a stream called before `close()`",
  bounded(async () => {
    const pool = new Pool({ workers: 1 });
    const mapped = pool.map(square, stalled);
    const streamed = pool.imap(square, stalled).next();
    const running = pool.apply(() => new Promise(() => {}), []);
    pool.close();
    await within(pool.terminate(), "terminate()");
    await within(assert.rejects(mapped, PoolClosedError), "the map rejects");
    await within(assert.rejects(streamed, PoolClosedError), "the stream rejects");
    await within(assert.rejects(running, PoolClosedError), "the apply rejects");
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "a call made after `close()` rejects with PoolClosedError, on every method and input shape",
  bounded(async () => {
    const pool = new Pool({ workers: 1 });
    pool.close();
    const shapes: (() => Iterable<number> | AsyncIterable<number>)[] = [
      () => [1],
      () => new Set([1]),
      () => slowly([1]),
    ];
    for (const items of shapes) {
      await assert.rejects(pool.map(square, items()), PoolClosedError);
      await assert.rejects(pool.mapSettled(square, items()), PoolClosedError);
      await assert.rejects(pool.imap(square, items()).next(), PoolClosedError);
      await assert.rejects(pool.imapUnordered(square, items()).next(), PoolClosedError);
    }
    await assert.rejects(pool.map((c: string) => c, "abc"), PoolClosedError);
    await assert.rejects(pool.starmap(square, [[1]]), PoolClosedError);
    await assert.rejects(pool.apply(square, [1]), PoolClosedError);
    await within(pool.join(), "join()");
  }),
);
