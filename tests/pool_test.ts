import assert from "node:assert/strict";
import {
  Pool,
  PoolClosedError,
  Recorder,
  TaskError,
  TaskModule,
  WorkerCrashedError,
  WorkerInitError,
} from "../lib/mod.ts";
import { needs } from "./_needs.ts";

/** Module tasks live here; their workers are granted read access to it. */
const fixtures = new URL("./fixtures/", import.meta.url);
/** A pool can grant its workers only what the program holds. */
const READ_FIXTURES: Deno.PermissionDescriptor = { name: "read", path: fixtures };

function square(n: number): number {
  return n * n;
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Waits, a turn of the event loop at a time, until `pool` has `count` live workers. */
async function liveWorkersReach(pool: Pool, count: number): Promise<void> {
  const deadline = AbortSignal.timeout(10_000);
  while (pool.liveWorkers !== count) {
    if (deadline.aborted) assert.fail(`liveWorkers stayed ${pool.liveWorkers}, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test("Pool.map() keeps input order for every chunk size", async () => {
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
});

Deno.test("Pool.map() runs the work inside the workers, not on the main thread", async () => {
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
});

Deno.test("Pool.map() accepts arrays, iterables, generators and async iterables", async () => {
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
});

Deno.test("Pool.map() round-trips NaN, Infinity, -0, undefined and holes like Array.prototype.map", async () => {
  await using pool = new Pool({ workers: 2 });
  const numbers = [NaN, Infinity, -Infinity, -0, 0, 1.5, -2, Number.MAX_VALUE, 5e-324, 9, 10];
  const identity = (x: unknown) => x;
  // Chunks of 2 travel as arrays, a chunk of 11 packed in a Float64Array, and
  // one of 4,400 packed in shared memory.
  const many = Array.from({ length: 400 }, () => numbers).flat();
  for (const [input, chunkSize] of [[numbers, 2], [numbers, 11], [many, many.length]] as const) {
    const result = await pool.map(identity, input, { chunkSize });
    assert.equal(result.length, input.length);
    input.forEach((n, i) => assert.ok(Object.is(result[i], n), `index ${i}: ${result[i]} vs ${n}`));
  }
  // deno-lint-ignore no-sparse-arrays
  const holey = [1, , 3, undefined, 5];
  const mapped = await pool.map((x: unknown) => x === undefined ? "undef" : x, holey, {
    chunkSize: 2,
  });
  assert.deepEqual(mapped, holey.map((x) => x === undefined ? "undef" : x));
  assert.ok(!(1 in mapped), "a hole stays a hole");
});

Deno.test("a chunk of numbers whose results stop being numbers keeps every result", async () => {
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
  await assert.rejects(pool.map(mixed, items, { chunkSize: 20 }), /Task (25|45) \(mixed\) failed/);
  await assert.rejects(pool.map(mixed, items.slice(40), { chunkSize: 20 }), /Task 5 \(mixed\)/);
});

Deno.test("a chunk of numbers in shared memory whose results stop being numbers keeps every result", async () => {
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
});

Deno.test("changing the input after the call does not change what the workers see", async () => {
  await using pool = new Pool({ workers: 2 });
  const numbers = Array.from({ length: 40 }, (_, i) => i);
  const words = numbers.map((n) => `w${n}`);
  const squares = pool.map(square, numbers, { chunkSize: 10 });
  const upper = pool.map((w: string) => w.toUpperCase(), words, { chunkSize: 10 });
  numbers.fill(-1);
  words.fill("changed");
  assert.deepEqual(await squares, Array.from({ length: 40 }, (_, i) => i * i));
  assert.deepEqual(await upper, Array.from({ length: 40 }, (_, i) => `W${i}`));
});

Deno.test("one awaited call at a time stays with the worker that answered the last", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 3, recorder });
  await liveWorkersReach(pool, 3);
  for (let i = 0; i < 10; i++) await pool.apply(square, [i]);
  const rows = new Set(recorder.spans.map((span) => span.row));
  assert.equal(rows.size, 1, `calls went to ${[...rows].join(", ")}`);
});

Deno.test("Pool.map() default chunk size is ceil(n / (4 * workers))", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 2, recorder });
  await pool.map(square, Array.from({ length: 80 }, (_, i) => i));
  // 80 items / (4 * 2) = 10 items per chunk, so 8 chunks.
  assert.equal(recorder.spans.length, 8);
});

Deno.test("Pool.imap() yields in input order and streams before the input ends", async () => {
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
});

Deno.test("Pool.imap() pulls at most maxInFlight items ahead of a slow consumer", async () => {
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
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (consumed === 60) break;
  }
  assert.ok(maxAhead <= 9, `pulled ${maxAhead} ahead`);
});

Deno.test("Pool.imap() delivers the results before an input error, then throws it", async () => {
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
});

Deno.test("Pool.imapUnordered() yields every result, fastest first", async () => {
  await using pool = new Pool({ workers: 2 });
  const slowFirst = await collect(pool.imapUnordered(async (ms: number) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return ms;
  }, [200, 1, 1, 1]));
  assert.deepEqual([...slowFirst].sort((a, b) => a - b), [1, 1, 1, 200]);
  assert.equal(slowFirst.at(-1), 200);
});

Deno.test("Pool.starmap() spreads each argument list", async () => {
  await using pool = new Pool({ workers: 2 });
  assert.deepEqual(
    await pool.starmap((a: number, b: number) => a ** b, [[2, 3], [3, 2], [10, 0]], {
      chunkSize: 2,
    }),
    [8, 9, 1],
  );
});

Deno.test("Pool.apply() runs one call, async functions too", async () => {
  await using pool = new Pool({ workers: 1 });
  assert.equal(await pool.apply((a: number, b: number) => a + b, [2, 3]), 5);
  assert.equal(
    await pool.apply(async (s: string) => await Promise.resolve(s.toUpperCase()), ["hi"]),
    "HI",
  );
});

Deno.test("Pool.mapSettled() reports every item, failed or not, in order", async () => {
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
});

Deno.test("Pool.map() fails with TaskError naming the item, and the pool stays usable", async () => {
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
});

Deno.test("TaskError keeps the cause chain and the error's own properties", async () => {
  await using pool = new Pool({ workers: 1 });
  const error = await pool.apply(() => {
    const root = new Error("disk full");
    const wrapped = new Error("save failed", { cause: root });
    Object.assign(wrapped, { code: "E_SAVE", details: { path: "/tmp/x" } });
    throw wrapped;
  }, []).catch((e) => e);
  assert.ok(error instanceof TaskError);
  const cause = error.cause as Error & { code: string; details: unknown };
  assert.equal(cause.message, "save failed");
  assert.equal(cause.code, "E_SAVE");
  assert.deepEqual(cause.details, { path: "/tmp/x" });
  assert.ok(cause.cause instanceof Error);
  assert.equal((cause.cause as Error).message, "disk full");
  assert.match(cause.stack ?? "", /save failed/);
});

Deno.test("TaskError for a non-Error throw keeps the thrown value as cause", async () => {
  await using pool = new Pool({ workers: 1 });
  const error = await pool.apply(() => {
    throw { reason: "plain object" };
  }, []).catch((e) => e);
  assert.ok(error instanceof TaskError);
  assert.deepEqual(error.cause, { reason: "plain object" });
});

Deno.test("an aborted signal rejects with its reason and leaves the pool usable", async () => {
  await using pool = new Pool({ workers: 2 });
  const reason = new Error("stop");
  await assert.rejects(
    pool.map(square, [1], { signal: AbortSignal.abort(reason) }),
    (e) => e === reason,
  );
  const controller = new AbortController();
  const slow = pool.map(
    async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
    [5000, 5000],
    { chunkSize: 1, signal: controller.signal },
  );
  const other = pool.map(square, [1, 2, 3]);
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(slow, (e) => e === reason);
  assert.deepEqual(await other, [1, 4, 9]);
  assert.deepEqual(await pool.map(square, [4]), [16]);
});

/** Keeps its worker busy for `ms`, as CPU-bound work does, and returns `ms`. */
function busy(ms: number): number {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
  return ms;
}

Deno.test("aborting a call whose chunk a worker holds but has not started keeps that worker", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 1, recorder });
  const controller = new AbortController();
  const long = pool.map(busy, [300], { chunkSize: 1 });
  // Sent to the same worker in the same flush, behind the long chunk.
  const queued = pool.map(busy, [10], { chunkSize: 1, signal: controller.signal });
  const reason = new Error("not needed");
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(queued, (e) => e === reason);
  assert.deepEqual(await long, [300]);
  // The worker skips the chunk taken back: the next call's is the one it runs after the long one.
  assert.deepEqual(await pool.map(busy, [5]), [5]);
  // The long chunk was not interrupted: it ran once, on the first worker, which still lives.
  assert.deepEqual(recorder.spans.map((span) => [span.row, span.label]), [
    ["worker 1", "0"],
    ["worker 1", "0"],
  ]);
  assert.equal(pool.liveWorkers, 1);
});

Deno.test("an idle worker takes over a chunk another holds behind a long one", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 2, recorder });
  // The first worker gets items 0 and 1; item 1 waits behind 300 ms of item 0
  // unless the second worker, done with items 2 and 3, takes it back.
  assert.deepEqual(await pool.map(busy, [300, 10, 10, 10], { chunkSize: 1 }), [300, 10, 10, 10]);
  const rowOf = (label: string) => recorder.spans.find((span) => span.label === label)?.row;
  assert.notEqual(rowOf("1"), rowOf("0"), JSON.stringify(recorder.spans));
  // The first worker skips the item taken back: every item ran once, and the pool goes on.
  assert.deepEqual(await pool.map(busy, [20, 20], { chunkSize: 1 }), [20, 20]);
  assert.equal(recorder.spans.length, 6);
});

Deno.test("an idle worker takes the chunks of a worker that has not started them", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({
    workers: 2,
    recorder,
    // Worker 2 takes 30 s to get ready: it holds its chunks without starting them.
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
});

Deno.test("AbortSignal.timeout() works as a deadline and ends the busy worker", async () => {
  await using pool = new Pool({ workers: 1 });
  const started = Date.now();
  const error = await pool.apply(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    },
    [],
    { signal: AbortSignal.timeout(100) },
  ).catch((e) => e);
  assert.equal(error.name, "TimeoutError");
  assert.ok(Date.now() - started < 5000);
  assert.equal(await pool.apply((n: number) => n + 1, [1]), 2);
});

Deno.test("Pool.imap() with an aborted signal throws the reason", async () => {
  await using pool = new Pool({ workers: 1 });
  const controller = new AbortController();
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const value of pool.imap(square, [1, 2, 3, 4], { signal: controller.signal })) {
      seen.push(value);
      controller.abort(new Error("enough"));
    }
  }, { message: "enough" });
  assert.deepEqual(seen, [1]);
});

Deno.test("initializer runs once per worker before its tasks", async () => {
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
});

Deno.test("a failing initializer rejects calls with WorkerInitError", async () => {
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
  await pool.join();
  assert.equal(pool.liveWorkers, 0);
});

Deno.test("maxTasksPerChild replaces workers and keeps every result right", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 2, maxTasksPerChild: 2, recorder });
  const items = Array.from({ length: 20 }, (_, i) => i);
  assert.deepEqual(await pool.map(square, items, { chunkSize: 1 }), items.map(square));
  const workers = new Set(recorder.spans.map((span) => span.row));
  assert.ok(workers.size >= 10, `20 tasks at 2 per worker need 10 workers, saw ${workers.size}`);
  const perWorker = new Map<string, number>();
  for (const span of recorder.spans) perWorker.set(span.row, (perWorker.get(span.row) ?? 0) + 1);
  assert.ok([...perWorker.values()].every((count) => count <= 2));
});

Deno.test(needs("a module task runs an export by name", READ_FIXTURES), async () => {
  const tasks = new TaskModule<typeof import("./fixtures/tasks.ts")>(
    new URL("./fixtures/tasks.ts", import.meta.url),
  );
  await using pool = new Pool({ workers: 2, permissions: { read: [fixtures] } });
  assert.deepEqual(await pool.map(tasks.task("fib"), [1, 10, 20]), [1, 55, 6765]);
  assert.deepEqual(await pool.starmap(tasks.task("greet"), [["Hello", "Deno"]]), ["Hello, Deno"]);
  const notFunction = new TaskModule<Record<string, (n: number) => number>>(
    new URL("./fixtures/tasks.ts", import.meta.url),
  );
  const error = await pool.apply(notFunction.task("answer"), [1]).catch((e) => e);
  assert.ok(error instanceof TaskError);
  assert.match(error.message, /expected a function, got number/);
});

Deno.test("a worker that dies mid-task fails that task with WorkerCrashedError; the rest finish", async (t) => {
  const deaths = {
    "self.close()": () => self.close(),
    "Deno.exit()": () => Deno.exit(3),
    "an error thrown in a timer": () => {
      setTimeout(() => {
        throw new Error("timer blew up");
      }, 0);
      return new Promise(() => {});
    },
    "an unhandled rejection": () => {
      Promise.reject(new Error("nobody caught me"));
      return new Promise(() => {});
    },
  };
  // Chunks of 2 travel as arrays; a chunk of 10 travels packed, and the
  // results before the death come back from the packed copy.
  const items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  for (const [how, die] of Object.entries(deaths)) {
    await t.step(how, async () => {
      await using pool = new Pool({ workers: 2, maxCrashes: 2 });
      const source = `(n) => { if (n === 3) return (${die.toString()})(); return n * 2; }`;
      const task = new Function(`return ${source}`)() as (n: number) => number;
      for (const chunkSize of [2, 10]) {
        const outcomes = await pool.mapSettled(task, items, { chunkSize });
        assert.deepEqual(
          outcomes.map((o) => o.status),
          items.map((n) => n === 3 ? "rejected" : "fulfilled"),
        );
        const failed = outcomes[2];
        assert.ok(failed.status === "rejected" && failed.reason instanceof WorkerCrashedError);
        assert.equal(failed.reason.index, 2);
        assert.match(failed.reason.message, /tried on 2 workers/);
        assert.deepEqual(
          outcomes.filter((o) => o.status === "fulfilled").map((o) => o.value),
          items.filter((n) => n !== 3).map((n) => n * 2),
        );
      }
      assert.deepEqual(await pool.map(square, [1, 2]), [1, 4]);
    });
  }
});

Deno.test("a task that kills workers is tried maxCrashes times, then fails for good", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 1, maxCrashes: 3, recorder });
  const error = await pool.apply(() => self.close(), []).catch((e) => e);
  assert.ok(error instanceof WorkerCrashedError);
  assert.match(error.message, /tried on 3 workers/);
  assert.equal(await pool.apply(() => "alive", []), "alive");
});

Deno.test("crashes are counted per item, not per chunk", async () => {
  // Items 1 and 3 each kill their worker the first time they run, and share a
  // chunk. With maxCrashes 2 each may crash once: both must succeed on retry.
  const starts = new Int32Array(new SharedArrayBuffer(16));
  await using pool = new Pool({ workers: 1, maxCrashes: 2 });
  const results = await pool.map(
    ([i, starts]: [number, Int32Array]) => {
      if ((i === 1 || i === 3) && Atomics.add(starts, i, 1) === 0) self.close();
      return i * 10;
    },
    [0, 1, 2, 3].map((i) => [i, starts] as [number, Int32Array]),
    { chunkSize: 4 },
  );
  assert.deepEqual(results, [0, 10, 20, 30]);
  assert.deepEqual([...starts], [0, 2, 0, 2]);
});

Deno.test("Pool.close() lets queued work finish and refuses new calls", async () => {
  const pool = new Pool({ workers: 2 });
  const pending = pool.map(
    async (n: number) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return n;
    },
    [1, 2, 3, 4, 5, 6],
    { chunkSize: 1 },
  );
  pool.close();
  await assert.rejects(pool.map(square, [1]), PoolClosedError);
  await assert.rejects(pool.apply(square, [1]), PoolClosedError);
  await assert.rejects(collect(pool.imap(square, [1])), PoolClosedError);
  assert.deepEqual(await pending, [1, 2, 3, 4, 5, 6]);
  await pool.join();
  assert.equal(pool.liveWorkers, 0);
});

Deno.test("Pool.terminate() rejects pending work at once with PoolClosedError", async () => {
  const pool = new Pool({ workers: 1 });
  const pending = pool.map(
    async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return ms;
    },
    [2000, 2000, 2000],
    { chunkSize: 1 },
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await pool.terminate();
  await assert.rejects(pending, PoolClosedError);
  await pool.join();
  assert.equal(pool.liveWorkers, 0);
});

Deno.test("Pool.join() on an open pool throws InvalidStateError", async () => {
  const pool = new Pool({ workers: 1 });
  await assert.rejects(
    pool.join(),
    (e: unknown) => e instanceof DOMException && e.name === "InvalidStateError",
  );
  await pool.terminate();
});

Deno.test("await using closes and joins the pool, leaving no worker alive", async () => {
  let escaped: Pool | undefined;
  {
    await using pool = new Pool({ workers: 3 });
    escaped = pool;
    await liveWorkersReach(pool, 3);
    await pool.map(square, [1, 2, 3]);
  }
  assert.equal(escaped.liveWorkers, 0);
  await assert.rejects(escaped.map(square, [1]), PoolClosedError);
});

Deno.test("idle workers end after idleTimeout and start again on demand", async () => {
  await using pool = new Pool({ workers: 2, idleTimeout: 30 });
  assert.equal(await pool.apply(square, [3]), 9);
  await new Promise((resolve) => setTimeout(resolve, 120));
  assert.equal(pool.liveWorkers, 0);
  assert.equal(await pool.apply(square, [4]), 16);
  await liveWorkersReach(pool, 2);
});

Deno.test("workers start one per turn of the event loop, and work starts on the first", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 3, recorder });
  // The constructor starts none: each new Worker() holds the main thread.
  assert.equal(pool.liveWorkers, 0);
  const results = pool.map(
    (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) { /* busy, as CPU-bound work is */ }
      return ms;
    },
    [60, 60, 60],
    { chunkSize: 1 },
  );
  assert.deepEqual(await results, [60, 60, 60]);
  await liveWorkersReach(pool, 3);
  const rows = new Set(recorder.spans.map((span) => span.row));
  assert.ok(rows.size >= 2, `every item ran on ${[...rows]}`);
});

Deno.test("workers that are never idle for idleTimeout at a stretch are kept", async () => {
  const recorder = new Recorder();
  await using pool = new Pool({ workers: 2, idleTimeout: 300, recorder });
  // About 500 ms in all, idle for 25 ms at a time.
  for (let i = 0; i < 20; i++) {
    assert.equal(await pool.apply(square, [i]), i * i);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const rows = new Set(recorder.spans.map((span) => span.row));
  assert.deepEqual([...rows].filter((row) => row !== "worker 1" && row !== "worker 2"), []);
  assert.equal(pool.liveWorkers, 2);
});

Deno.test("an idle timeout that fires while workers are starting ends them all", async () => {
  const pool = new Pool({ workers: 4, idleTimeout: 1 });
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(pool.liveWorkers, 0);
  assert.equal(await pool.apply(square, [5]), 25);
  await pool.terminate();
  assert.equal(pool.liveWorkers, 0);
});

Deno.test(
  needs(
    "TaskModule types reject a wrong export name or argument type at check time",
    READ_FIXTURES,
  ),
  async () => {
    const tasks = new TaskModule<typeof import("./fixtures/tasks.ts")>(
      new URL("./fixtures/tasks.ts", import.meta.url),
    );
    // Each @ts-expect-error must meet a type error, or `deno check` fails.
    // @ts-expect-error: "fibb" is not an export of the module
    const misspelled = () => tasks.task("fibb");
    // @ts-expect-error: "answer" is a number, not a function
    const notAFunction = () => tasks.task("answer");
    await using pool = new Pool({ workers: 1, permissions: { read: [fixtures] } });
    // @ts-expect-error: fib takes numbers, not strings
    const wrongItems = () => pool.map(tasks.task("fib"), ["x"]);
    const typed: Promise<number[]> = pool.map(tasks.task("fib"), [3]);
    assert.deepEqual(await typed, [2]);
    assert.equal(
      typeof misspelled + typeof notAFunction + typeof wrongItems,
      "functionfunctionfunction",
    );
  },
);
