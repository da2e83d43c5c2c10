/**
 * A pool's workers from start to end: the initializer each runs first, the
 * workers `maxTasksPerChild` and `idleTimeout` retire, and the ends a pool
 * comes to, by `close()` and `join()`, `terminate()` or `await using`.
 */
import assert from "node:assert/strict";
import { PoolClosedError, Recorder, WorkerInitError } from "../lib/mod.ts";
import { Pool, threadsOnly } from "./_pool.ts";
import { bounded, flagged, raise, until, within } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Returns `value` once `gate` is open (no longer 0), without holding its worker's thread. */
async function afterGate<T>([value, gate]: [T, Int32Array]): Promise<T> {
  while (Atomics.load(gate, 0) === 0) {
    const wait = Atomics.waitAsync(gate, 0, 0);
    if (wait.async) await wait.value;
  }
  return value;
}

/** A task that raises `flag` and never settles: its worker holds it until the worker is ended. */
function hang(flag: Int32Array): Promise<never> {
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  return new Promise(() => {});
}

Deno.test(
  threadsOnly("`Pool.close()` lets queued work finish and refuses new calls"),
  bounded(async () => {
    const pool = new Pool({ workers: 2 });
    // The work waits for the gate, opened once the refusals are checked: it is
    // still queued or running when they are made.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const pending = pool.map(
      afterGate,
      [1, 2, 3, 4, 5, 6].map((n) => [n, gate] as [number, Int32Array]),
      {
        chunkSize: 1,
      },
    );
    try {
      pool.close();
      await assert.rejects(pool.map(square, [1]), PoolClosedError);
      await assert.rejects(pool.apply(square, [1]), PoolClosedError);
      await assert.rejects(collect(pool.imap(square, [1])), PoolClosedError);
    } finally {
      raise(gate);
    }
    assert.deepEqual(await within(pending, "the queued work"), [1, 2, 3, 4, 5, 6]);
    await within(pool.join(), "join()");
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  threadsOnly("`Pool.terminate()` rejects pending work at once with PoolClosedError"),
  bounded(async () => {
    const pool = new Pool({ workers: 1 });
    const started = new Int32Array(new SharedArrayBuffer(4));
    const pending = pool.map(hang, [started, started, started], { chunkSize: 1 });
    const rejected = assert.rejects(pending, PoolClosedError);
    await within(flagged(started), "the first task starts");
    await within(pool.terminate(), "terminate()");
    await within(rejected, "the pending work");
    await within(pool.join(), "join()");
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`Pool.join()` on an open pool throws InvalidStateError",
  bounded(async () => {
    const pool = new Pool({ workers: 1 });
    await assert.rejects(
      pool.join(),
      (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
    );
    await pool.terminate();
  }),
);

Deno.test(
  "`await using` closes and joins the pool, leaving no worker alive",
  bounded(async () => {
    let escaped: Pool | undefined;
    {
      await using pool = new Pool({ workers: 3 });
      escaped = pool;
      await until(() => pool.liveWorkers === 3, "three live workers");
      await pool.map(square, [1, 2, 3]);
    }
    assert.equal(escaped.liveWorkers, 0);
    await assert.rejects(escaped.map(square, [1]), PoolClosedError);
  }),
);

Deno.test(
  "`initializer` runs once in each worker, before its tasks",
  bounded(async () => {
    await using pool = new Pool({
      workers: 2,
      initializer: (base: unknown) => {
        (globalThis as { base?: number }).base = base as number;
        (globalThis as { runs?: number }).runs = 0;
      },
      initArgs: [100],
    });
    const results = await pool.map(
      (n: number) => {
        const g = globalThis as { base?: number; runs?: number };
        g.runs = (g.runs ?? 0) + 1;
        return (g.base ?? 0) + n;
      },
      [1, 2, 3, 4],
      { chunkSize: 1 },
    );
    assert.deepEqual(results, [101, 102, 103, 104]);
  }),
);

Deno.test(
  "an `initializer` that throws fails every call with WorkerInitError, and the pool ends",
  bounded(async () => {
    const pool = new Pool({
      workers: 1,
      initializer: () => {
        throw new Error("no config");
      },
    });
    const error = await pool.apply(() => 1, []).catch((e) => e);
    assert.ok(error instanceof WorkerInitError);
    assert.equal((error.cause as Error).message, "no config");
    await assert.rejects(pool.apply(() => 1, []), WorkerInitError);
    await within(pool.join(), "join()");
    assert.equal(pool.liveWorkers, 0);
  }),
);

Deno.test(
  "`maxTasksPerChild` replaces workers and keeps every result right",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 2, maxTasksPerChild: 2, recorder });
    const items = Array.from({ length: 20 }, (_, i) => i);
    assert.deepEqual(await pool.map(square, items, { chunkSize: 1 }), items.map(square));
    const workers = new Set(recorder.spans.map((span) => span.row));
    assert.ok(workers.size >= 10, `20 tasks at 2 per worker need 10 workers, saw ${workers.size}`);
    const perWorker = new Map<string, number>();
    for (const span of recorder.spans) perWorker.set(span.row, (perWorker.get(span.row) ?? 0) + 1);
    assert.ok([...perWorker.values()].every((count) => count <= 2));
  }),
);

Deno.test(
  "`idleTimeout` ends idle workers, and they start again on demand",
  bounded(async () => {
    await using pool = new Pool({ workers: 2, idleTimeout: 30 });
    assert.equal(await pool.apply(square, [3]), 9);
    await until(() => pool.liveWorkers === 0, "no live worker");
    assert.equal(pool.liveWorkers, 0);
    assert.equal(await pool.apply(square, [4]), 16);
    await until(() => pool.liveWorkers === 2, "two live workers");
  }),
);

Deno.test(
  "`idleTimeout` keeps workers that are never idle that long at a stretch",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 2, idleTimeout: 300, recorder });
    // About 500 ms in all, idle for 25 ms at a time: the pauses are the idle
    // stretches under test, each far shorter than the timeout.
    for (let i = 0; i < 20; i++) {
      assert.equal(await pool.apply(square, [i]), i * i);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const rows = new Set(recorder.spans.map((span) => span.row));
    assert.deepEqual([...rows].filter((row) => row !== "worker 1" && row !== "worker 2"), []);
    assert.equal(pool.liveWorkers, 2);
  }),
);

Deno.test(
  "an `idleTimeout` that fires while workers are starting ends them all",
  bounded(async () => {
    const pool = new Pool({ workers: 4, idleTimeout: 1 });
    // What is asserted is an absence: that no worker is left, or starts again,
    // once the timer has fired. No event marks the end of such a stretch; 200 ms
    // spans the timer and many turns of the event loop, each of which would
    // start a worker.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(pool.liveWorkers, 0);
    assert.equal(await pool.apply(square, [5]), 25);
    await pool.terminate();
    assert.equal(pool.liveWorkers, 0);
  }),
);
