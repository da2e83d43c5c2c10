/**
 * Which worker runs what: how a call is cut into chunks, how workers start,
 * and how an idle worker takes over chunks that another holds but has not
 * started.
 */
import assert from "node:assert/strict";
import { Pool, Recorder } from "../lib/mod.ts";
import { bounded, until } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

/** Keeps its worker busy for `ms`, as CPU-bound work does, and returns `ms`. */
function busy(ms: number): number {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
  return ms;
}

Deno.test(
  "`Pool.map()` cuts an input into chunks of ceil(n / (4 * workers)) by default",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 2, recorder });
    await pool.map(square, Array.from({ length: 80 }, (_, i) => i));
    // 80 items / (4 * 2) = 10 items per chunk, so 8 chunks.
    assert.equal(recorder.spans.length, 8);
  }),
);

Deno.test(
  "`new Pool()` starts workers one per turn of the event loop, and work starts on the first",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 3, recorder });
    // The constructor starts none: each new Worker() holds the main thread.
    assert.equal(pool.liveWorkers, 0);
    // Each item holds its worker's thread, as CPU-bound work does, until a
    // second item has started (10 s at most): the first worker cannot run
    // them all, so another must start meanwhile and take some.
    const started = new Int32Array(new SharedArrayBuffer(4));
    const results = pool.map(
      ([ms, started]: [number, Int32Array]) => {
        let count = Atomics.add(started, 0, 1) + 1;
        Atomics.notify(started, 0);
        const deadline = performance.now() + 10_000;
        while (count < 2 && performance.now() < deadline) {
          Atomics.wait(started, 0, count, deadline - performance.now());
          count = Atomics.load(started, 0);
        }
        return ms;
      },
      [60, 60, 60].map((ms) => [ms, started] as [number, Int32Array]),
      { chunkSize: 1 },
    );
    assert.deepEqual(await results, [60, 60, 60]);
    await until(() => pool.liveWorkers === 3, "three live workers");
    const rows = new Set(recorder.spans.map((span) => span.row));
    assert.ok(rows.size >= 2, `every item ran on ${[...rows]}`);
  }),
);

Deno.test(
  "an idle worker takes over a chunk another holds behind a long one",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 2, recorder });
    // The first worker gets items 0 and 1; item 0 holds that worker's thread
    // until item 1 has run (10 s at most), so item 1 runs only if the second
    // worker, done with items 2 and 3, takes it back.
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const items = [300, 10, 10, 10].map((ms, i) => [ms, i, ran] as [number, number, Int32Array]);
    const results = await pool.map(
      ([ms, index, ran]: [number, number, Int32Array]) => {
        if (index === 0) Atomics.wait(ran, 0, 0, 10_000);
        if (index === 1) {
          Atomics.store(ran, 0, 1);
          Atomics.notify(ran, 0);
        }
        return ms;
      },
      items,
      { chunkSize: 1 },
    );
    assert.deepEqual(results, [300, 10, 10, 10]);
    const rowOf = (label: string) => recorder.spans.find((span) => span.label === label)?.row;
    assert.notEqual(rowOf("1"), rowOf("0"), JSON.stringify(recorder.spans));
    // The first worker skips the item taken back: every item ran once, and the pool goes on.
    assert.deepEqual(await pool.map(busy, [20, 20], { chunkSize: 1 }), [20, 20]);
    assert.equal(recorder.spans.length, 6);
  }),
);

Deno.test(
  "an idle worker takes the chunks of a worker that has not started them",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({
      workers: 2,
      recorder,
      // Worker 2 takes 30 s, longer than the test, to get ready: it holds its
      // chunks without starting them.
      initializer: () => {
        const name = (globalThis as { name?: string }).name;
        if (name === "pool-worker-2") return new Promise((resolve) => setTimeout(resolve, 30_000));
      },
    });
    assert.deepEqual(await pool.map(square, [1, 2, 3, 4], { chunkSize: 1 }), [1, 4, 9, 16]);
    assert.equal(pool.liveWorkers, 2, "worker 2 was started and given chunks");
    assert.deepEqual(
      recorder.spans.map((span) => span.row),
      ["worker 1", "worker 1", "worker 1", "worker 1"],
    );
  }),
);
