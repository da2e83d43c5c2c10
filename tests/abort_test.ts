/**
 * An abort is honoured at once, in every phase of a call: while its input is
 * read, while it waits in the queue, while it runs, while it streams, and
 * after `close()`; on every method.
 */
import assert from "node:assert/strict";
import { Pool, Recorder } from "../lib/mod.ts";
import { bounded, flagged, raise, within } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

/** Keeps its worker busy for `ms`, as CPU-bound work does, and returns `ms`. */
function busy(ms: number): number {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
  return ms;
}

/**
 * Raises `flag` (1), then holds its worker's thread, as CPU-bound work does,
 * until the flag is set to something else; returns `ms`.
 */
function held([ms, flag]: [number, Int32Array]): number {
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  Atomics.wait(flag, 0, 1);
  return ms;
}

/** Calls a stream's `return()`, which every stream has. */
function stop<T>(it: AsyncIterator<T>): Promise<IteratorResult<T>> {
  assert.ok(it.return, "the stream has return()");
  return it.return();
}

/** A task that never settles: its worker holds it until the worker is ended. */
function hang(flag: Int32Array): Promise<never> {
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  return new Promise(() => {});
}

/** An async input that yields `values`, then stalls: its next `next()` never settles. */
function stalledInput<T>(values: T[]) {
  const log = { returned: 0, stalled: Promise.withResolvers<void>() };
  const input: AsyncIterable<T> = {
    [Symbol.asyncIterator]() {
      let at = 0;
      return {
        next(): Promise<IteratorResult<T>> {
          if (at < values.length) return Promise.resolve({ done: false, value: values[at++] });
          log.stalled.resolve();
          return new Promise(() => {});
        },
        // Never settles either: the pool must not wait on it.
        return(): Promise<IteratorResult<T>> {
          log.returned++;
          return new Promise(() => {});
        },
      };
    },
  };
  return { input, log };
}

/** An async generator that yields `values`, then awaits something that never comes. */
async function* stalledGenerator<T>(values: T[], stalled: PromiseWithResolvers<void>) {
  yield* values;
  stalled.resolve();
  await new Promise(() => {});
}

Deno.test(
  "`Pool.map()` over a stalled async input rejects when aborted",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    const calls = {
      map: (input: AsyncIterable<[number]>, signal: AbortSignal) =>
        pool.map(([n]: [number]) => n, input, { signal }),
      starmap: (input: AsyncIterable<[number]>, signal: AbortSignal) =>
        pool.starmap(square, input, { signal }),
      mapSettled: (input: AsyncIterable<[number]>, signal: AbortSignal) =>
        pool.mapSettled(([n]: [number]) => n, input, { signal }),
    };
    for (const [method, call] of Object.entries(calls)) {
      await t.step(method, async () => {
        const { input, log } = stalledInput<[number]>([[1], [2]]);
        const controller = new AbortController();
        const reason = new Error("stop reading");
        const pending = call(input, controller.signal);
        await within(log.stalled.promise, "the input stalls");
        controller.abort(reason);
        await within(assert.rejects(pending, (e) => e === reason), `${method} rejects`);
        assert.equal(log.returned, 1, "the input was asked to return");
      });
    }
    assert.equal(await pool.apply(square, [3]), 9);
  }),
);

Deno.test(
  "`Pool.map()` over a stalled async generator rejects when aborted",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const stalled = Promise.withResolvers<void>();
    const controller = new AbortController();
    const reason = new Error("stop reading");
    const call = pool.map(square, stalledGenerator([1, 2], stalled), { signal: controller.signal });
    await within(stalled.promise, "the generator stalls");
    controller.abort(reason);
    await within(assert.rejects(call, (e) => e === reason), "map rejects");
  }),
);

Deno.test(
  "`Pool.map()` aborted while its input is read stops reading it",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const controller = new AbortController();
    const reason = new Error("enough");
    let pulled = 0;
    const closed = Promise.withResolvers<void>();
    async function* slow() {
      try {
        for (let n = 0;; n++) {
          pulled++;
          if (n === 3) controller.abort(reason);
          // A slow input: the pool waits on this read when the abort comes.
          await new Promise((resolve) => setTimeout(resolve, 1));
          yield n;
        }
      } finally {
        closed.resolve();
      }
    }
    const call = pool.map(square, slow(), { signal: controller.signal });
    await within(assert.rejects(call, (e) => e === reason), "map rejects");
    await within(closed.promise, "the input's finally runs");
    assert.equal(pulled, 4);
  }),
);

Deno.test(
  "`Pool.imap()` over a stalled async input throws the reason when aborted",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    for (const method of ["imap", "imapUnordered"] as const) {
      await t.step(`${method}, a hand-written input`, async () => {
        const { input, log } = stalledInput([1, 2]);
        const controller = new AbortController();
        const reason = new Error("stop streaming");
        const seen: number[] = [];
        const done = (async () => {
          for await (const value of pool[method](square, input, { signal: controller.signal })) {
            seen.push(value);
          }
        })();
        await within(log.stalled.promise, "the input stalls");
        controller.abort(reason);
        await within(assert.rejects(done, (e) => e === reason), `${method} throws`);
        assert.equal(log.returned, 1, "the input was asked to return");
      });
      await t.step(`${method}, an async generator`, async () => {
        const stalled = Promise.withResolvers<void>();
        const controller = new AbortController();
        const reason = new Error("stop streaming");
        const it = pool[method](square, stalledGenerator([1, 2], stalled), {
          signal: controller.signal,
        });
        const results = [(await it.next()).value, (await it.next()).value];
        assert.deepEqual(results.sort(), [1, 4]);
        const third = it.next();
        await within(stalled.promise, "the generator stalls");
        controller.abort(reason);
        await within(assert.rejects(third, (e) => e === reason), `${method} throws`);
        assert.deepEqual(await it.next(), { done: true, value: undefined });
      });
    }
  }),
);

Deno.test(
  "breaking out of `Pool.imap()` over a stalled async input returns at once",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    for (const method of ["imap", "imapUnordered"] as const) {
      await t.step(method, async () => {
        const stalled = Promise.withResolvers<void>();
        const loop = async () => {
          for await (const value of pool[method](square, stalledGenerator([3], stalled))) {
            assert.equal(value, 9);
            await stalled.promise;
            break;
          }
        };
        await within(loop(), "the loop ends");
      });
    }
  }),
);

Deno.test(
  "`return()` on a stream over a stalled input returns at once, read or not",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    await t.step("never read", async () => {
      const { input, log } = stalledInput<number>([]);
      const it = pool.imap(square, input);
      await within(log.stalled.promise, "the input stalls");
      assert.deepEqual(await within(stop(it), "return()"), { done: true, value: undefined });
      assert.equal(log.returned, 1);
      assert.deepEqual(await it.next(), { done: true, value: undefined });
    });
    await t.step("while a next() waits", async () => {
      const { input, log } = stalledInput([1]);
      const it = pool.imapUnordered(square, input);
      assert.deepEqual(await it.next(), { done: false, value: 1 });
      const waiting = it.next();
      await within(log.stalled.promise, "the input stalls");
      await within(stop(it), "return()");
      assert.deepEqual(await within(waiting, "the waiting next()"), {
        done: true,
        value: undefined,
      });
      assert.equal(log.returned, 1);
    });
  }),
);

Deno.test(
  "a call waiting in the queue rejects when aborted, on every method",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const count = (shared: Int32Array) => Atomics.add(shared, 0, 1);
    const calls = {
      map: (signal: AbortSignal) => pool.map(count, [ran, ran], { signal }),
      starmap: (signal: AbortSignal) => pool.starmap(count, [[ran]], { signal }),
      mapSettled: (signal: AbortSignal) => pool.mapSettled(count, [ran], { signal }),
      apply: (signal: AbortSignal) => pool.apply(count, [ran], { signal }),
      imap: (signal: AbortSignal) => pool.imap(count, [ran], { signal }).next(),
      imapUnordered: (signal: AbortSignal) => pool.imapUnordered(count, [ran], { signal }).next(),
    };
    for (const [method, call] of Object.entries(calls)) {
      await t.step(method, async () => {
        const started = new Int32Array(new SharedArrayBuffer(4));
        // The one worker is held by this task until it is told to go on.
        const blocker = pool.apply((flag: Int32Array) => {
          Atomics.store(flag, 0, 1);
          Atomics.notify(flag, 0);
          Atomics.wait(flag, 0, 1);
          return "blocker";
        }, [started]);
        await within(flagged(started), "the blocker starts");
        const controller = new AbortController();
        const reason = new Error(`drop ${method}`);
        const queued = call(controller.signal);
        controller.abort(reason);
        await within(assert.rejects(queued, (e) => e === reason), `${method} rejects`);
        // Rejected while the worker was still held: it did not wait for a worker.
        Atomics.store(started, 0, 2);
        Atomics.notify(started, 0);
        assert.equal(await within(blocker, "the blocker ends"), "blocker");
      });
    }
    assert.equal(await pool.apply(count, [ran]), 0, "no aborted call ran");
  }),
);

Deno.test(
  "a running call rejects when aborted, on every method, and the pool goes on",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 2 });
    const calls = {
      map: (flag: Int32Array, signal: AbortSignal) => pool.map(hang, [flag], { signal }),
      starmap: (flag: Int32Array, signal: AbortSignal) => pool.starmap(hang, [[flag]], { signal }),
      mapSettled: (flag: Int32Array, signal: AbortSignal) =>
        pool.mapSettled(hang, [flag], { signal }),
      apply: (flag: Int32Array, signal: AbortSignal) => pool.apply(hang, [flag], { signal }),
      imap: (flag: Int32Array, signal: AbortSignal) => pool.imap(hang, [flag], { signal }).next(),
      imapUnordered: (flag: Int32Array, signal: AbortSignal) =>
        pool.imapUnordered(hang, [flag], { signal }).next(),
    };
    for (const [method, call] of Object.entries(calls)) {
      await t.step(method, async () => {
        const started = new Int32Array(new SharedArrayBuffer(4));
        const controller = new AbortController();
        const reason = new Error(`stop ${method}`);
        const running = call(started, controller.signal);
        await within(flagged(started), "the task starts");
        controller.abort(reason);
        await within(assert.rejects(running, (e) => e === reason), `${method} rejects`);
        assert.deepEqual(await within(pool.map(square, [1, 2, 3]), "the next call"), [1, 4, 9]);
      });
    }
  }),
);

Deno.test(
  "`Pool.imapUnordered()` throws the reason when aborted between reads",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const controller = new AbortController();
    const reason = new Error("enough");
    const it = pool.imapUnordered(square, [1, 2, 3, 4], {
      signal: controller.signal,
      chunkSize: 1,
    });
    assert.equal((await it.next()).done, false);
    controller.abort(reason);
    await within(assert.rejects(it.next(), (e) => e === reason), "the next read throws");
    assert.deepEqual(await it.next(), { done: true, value: undefined });
  }),
);

Deno.test(
  "a call made before `close()` rejects when aborted, and the pool then ends",
  bounded(async (t) => {
    for (const method of ["map", "map reading its input", "apply", "imap"] as const) {
      await t.step(method, async () => {
        const pool = new Pool({ workers: 1 });
        const started = new Int32Array(new SharedArrayBuffer(4));
        const controller = new AbortController();
        const signal = controller.signal;
        const reason = new Error("abort after close");
        const { input } = stalledInput<Int32Array>([]);
        const call = method === "map"
          ? pool.map(hang, [started], { signal })
          : method === "map reading its input"
          ? pool.map(hang, input, { signal })
          : method === "apply"
          ? pool.apply(hang, [started], { signal })
          : pool.imap(hang, [started], { signal }).next();
        if (method !== "map reading its input") await within(flagged(started), "the task starts");
        pool.close();
        controller.abort(reason);
        await within(assert.rejects(call, (e) => e === reason), `${method} rejects`);
        await within(pool.join(), "join()");
        assert.equal(pool.liveWorkers, 0);
      });
    }
  }),
);

Deno.test(
  "a signal that is not an AbortSignal is a TypeError at the door, on every method",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const count = (shared: Int32Array) => Atomics.add(shared, 0, 1);
    const notSignals: unknown[] = [
      {},
      "signal",
      null,
      true,
      { aborted: false, reason: undefined, addEventListener() {}, removeEventListener() {} },
      new AbortController(),
    ];
    for (const value of notSignals) {
      const signal = value as AbortSignal;
      const message =
        /^TypeError: Cannot use "signal" as it must be an AbortSignal: current value is /;
      await assert.rejects(pool.map(count, [ran], { signal }), message);
      await assert.rejects(pool.starmap(count, [[ran]], { signal }), message);
      await assert.rejects(pool.mapSettled(count, [ran], { signal }), message);
      await assert.rejects(pool.apply(count, [ran], { signal }), message);
      await assert.rejects(pool.imap(count, [ran], { signal }).next(), message);
      await assert.rejects(pool.imapUnordered(count, [ran], { signal }).next(), message);
    }
    assert.equal(await pool.apply(count, [ran]), 0, "nothing ran");
  }),
);

Deno.test(
  "an already aborted signal rejects every method with its reason, reading no input",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    const reason = new Error("too late");
    const signal = AbortSignal.abort(reason);
    const isReason = (e: unknown) => e === reason;
    let pulled = 0;
    function* counted() {
      pulled++;
      yield 1;
    }
    async function* countedAsync() {
      pulled++;
      yield 1;
    }
    const shapes: [string, () => Iterable<number> | AsyncIterable<number>][] = [
      ["an array", () => [1]],
      ["a Set", () => new Set([1])],
      ["a generator", counted],
      ["an async generator", countedAsync],
    ];
    for (const [shape, items] of shapes) {
      await t.step(shape, async () => {
        await assert.rejects(pool.map(square, items(), { signal }), isReason);
        await assert.rejects(pool.mapSettled(square, items(), { signal }), isReason);
        await assert.rejects(pool.imap(square, items(), { signal }).next(), isReason);
        await assert.rejects(pool.imapUnordered(square, items(), { signal }).next(), isReason);
      });
    }
    await assert.rejects(pool.starmap(square, [[1]], { signal }), isReason);
    await assert.rejects(pool.apply(square, [1], { signal }), isReason);
    assert.equal(pulled, 0, "no input was read");
  }),
);

Deno.test(
  "every call lets go of its abort listener, however it ends",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    /** A signal that counts the listeners added to it and not yet removed. */
    function watched(signal: AbortSignal) {
      const live = new Set<EventListenerOrEventListenerObject>();
      const add = signal.addEventListener.bind(signal);
      const remove = signal.removeEventListener.bind(signal);
      type Listen = (
        type: string,
        listener: EventListenerOrEventListenerObject,
        options?: boolean | AddEventListenerOptions,
      ) => void;
      const adding: Listen = (type, listener, options) => {
        live.add(listener);
        add(type, listener, options);
      };
      const removing: Listen = (type, listener, options) => {
        live.delete(listener);
        remove(type, listener, options);
      };
      Object.assign(signal, { addEventListener: adding, removeEventListener: removing });
      return { signal, live };
    }
    const fail = () => {
      throw new Error("task failed");
    };
    const cases: [string, (signal: AbortSignal, abort: () => void) => Promise<unknown>][] = [
      ["map resolves", (signal) => pool.map(square, [1, 2], { signal })],
      ["map rejects", (signal) => pool.map(fail, [1], { signal }).catch(() => {})],
      ["apply resolves", (signal) => pool.apply(square, [2], { signal })],
      ["an aborted map", (signal, abort) => {
        const call = pool.map(hang, [new Int32Array(new SharedArrayBuffer(4))], { signal });
        abort();
        return call.catch(() => {});
      }],
      ["a map over a stalled input, aborted", (signal, abort) => {
        const { input, log } = stalledInput([1]);
        const call = pool.map(square, input, { signal });
        log.stalled.promise.then(abort);
        return call.catch(() => {});
      }],
      ["imap read to its end", async (signal) => {
        for await (const _ of pool.imap(square, [1, 2], { signal })) { /* read */ }
      }],
      ["imap broken out of", async (signal) => {
        for await (const _ of pool.imap(square, [1, 2, 3], { signal })) break;
      }],
      ["imap whose input throws", async (signal) => {
        function* broken() {
          yield 1;
          throw new Error("input broke");
        }
        await assert.rejects(async () => {
          for await (const _ of pool.imap(square, broken(), { signal })) { /* read */ }
        });
      }],
    ];
    for (const [what, run] of cases) {
      await t.step(what, async () => {
        const controller = new AbortController();
        const { signal, live } = watched(controller.signal);
        await within(run(signal, () => controller.abort()), what);
        assert.equal(live.size, 0, "listeners left on the signal");
      });
    }
  }),
);

Deno.test(
  "`Pool.map()` rejects with the signal's reason, before or while it runs, and the pool goes on",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const reason = new Error("stop");
    await assert.rejects(
      pool.map(square, [1], { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );
    const controller = new AbortController();
    const started = new Int32Array(new SharedArrayBuffer(4));
    const slow = pool.map(hang, [started, started], { chunkSize: 1, signal: controller.signal });
    const other = pool.map(square, [1, 2, 3]);
    await within(flagged(started), "a slow task starts");
    controller.abort(reason);
    await within(assert.rejects(slow, (e) => e === reason), "the aborted call rejects");
    assert.deepEqual(await within(other, "the other call"), [1, 4, 9]);
    assert.deepEqual(await pool.map(square, [4]), [16]);
  }),
);

Deno.test(
  "aborting a call whose chunk a worker holds but has not started keeps that worker",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 1, recorder });
    const controller = new AbortController();
    // The long chunk holds the one worker until the abort is dealt with.
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const long = pool.map(held, [[300, gate]], { chunkSize: 1 });
    // Sent to the same worker in the same flush, behind the long chunk.
    const queued = pool.map(busy, [10], { chunkSize: 1, signal: controller.signal });
    const reason = new Error("not needed");
    try {
      await within(flagged(gate), "the long chunk starts");
      controller.abort(reason);
      await within(assert.rejects(queued, (e) => e === reason), "the queued call rejects");
    } finally {
      raise(gate, 2);
    }
    assert.deepEqual(await within(long, "the long call"), [300]);
    // The worker skips the chunk taken back: the next call's is the one it runs after the long one.
    assert.deepEqual(await pool.map(busy, [5]), [5]);
    // The long chunk was not interrupted: it ran once, on the first worker, which still lives.
    assert.deepEqual(recorder.spans.map((span) => [span.row, span.label]), [
      ["worker 1", "0"],
      ["worker 1", "0"],
    ]);
    assert.equal(pool.liveWorkers, 1);
  }),
);

Deno.test(
  "`AbortSignal.timeout()` works as a deadline and ends the busy worker",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const started = Date.now();
    const error = await pool.apply(
      async () => {
        // Far longer than the deadline: the task is still running when it passes.
        await new Promise((resolve) => setTimeout(resolve, 10_000));
      },
      [],
      { signal: AbortSignal.timeout(100) },
    ).catch((e) => e);
    assert.equal(error.name, "TimeoutError");
    assert.ok(Date.now() - started < 5000);
    assert.equal(await pool.apply((n: number) => n + 1, [1]), 2);
  }),
);

Deno.test(
  "`Pool.imap()` throws the reason when aborted between reads",
  bounded(async () => {
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
  }),
);
