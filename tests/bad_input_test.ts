/**
 * The bad-input catalogue: each input a user can get wrong, and the clear
 * error it gets. Nothing here may hang, crash the pool or leak a worker.
 */
import assert from "node:assert/strict";
import { TaskError } from "../lib/mod.ts";
import { Pool } from "./_pool.ts";
import { bounded } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

const identity = (x: unknown) => x;

Deno.test(
  "an item that cannot be cloned fails with a TypeError naming its index",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    const cases: [string, unknown][] = [
      ["a function", () => 3],
      ["a symbol", Symbol("s")],
      ["an object with a method", { run() {} }],
      ["a WeakMap", new WeakMap()],
      ["a nested function", { deep: [1, { fn: Math.max }] }],
    ];
    for (const [what, bad] of cases) {
      await t.step(what, async () => {
        const items: unknown[] = [1, 2, bad, 4];
        const error = await pool.map(identity, items).catch((e) => e);
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, /^Cannot send item 2 to a worker: .* could not be cloned/);
        assert.match(error.message, /items must be structured-cloneable/);
        // mapSettled fails that item alone.
        const settled = await pool.mapSettled(identity, items);
        assert.deepEqual(settled.map((s) => s.status), [
          "fulfilled",
          "fulfilled",
          "rejected",
          "fulfilled",
        ]);
      });
    }
  }),
);

Deno.test(
  "a function that uses a variable of its enclosing scope fails with the self-contained rule",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const factor = 3;
    const error = await pool.map((n: number) => n * factor, [1]).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.ok(error.cause instanceof ReferenceError);
    assert.match(
      error.message,
      /^Task 0 failed: ReferenceError: factor is not defined \(a function run in a worker must be self-contained/,
    );
  }),
);

Deno.test(
  "a task that returns a value that cannot be cloned fails with a TaskError saying so",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const error = await pool.apply(() => ({ run() {} }), []).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.match(
      error.message,
      /^Task 0 returned a value that cannot be sent back from its worker/,
    );
    assert.equal(await pool.apply(() => 1, []), 1);
  }),
);

Deno.test(
  "a bad chunkSize or maxInFlight is refused at the door by every method",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    for (const chunkSize of [0, -1, 1.5, NaN, Infinity, "2" as unknown as number]) {
      const message =
        /RangeError: Cannot use "chunkSize" as it must be a positive integer: current value is /;
      await assert.rejects(pool.map(square, [1], { chunkSize }), message);
      await assert.rejects(pool.mapSettled(square, [1], { chunkSize }), message);
      await assert.rejects(pool.starmap(square, [[1]], { chunkSize }), message);
      await assert.rejects(pool.imap(square, [1], { chunkSize }).next(), message);
      await assert.rejects(pool.imapUnordered(square, [1], { chunkSize }).next(), message);
    }
    for (const maxInFlight of [0, -3, 0.5]) {
      await assert.rejects(
        pool.imap(square, [1], { maxInFlight }).next(),
        /RangeError: Cannot use "maxInFlight" as it must be a positive integer/,
      );
    }
    assert.equal(pool.liveWorkers <= 1, true);
  }),
);

Deno.test(
  "a non-function, a non-iterable input or a native function is refused at the door",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    await assert.rejects(pool.map(42 as never, [1]), /must be a function or a ModuleTask/);
    await assert.rejects(
      pool.map(square, 42 as never),
      /the input must be iterable: current value is 42/,
    );
    await assert.rejects(
      pool.apply(square, 7 as never),
      /"args" must be an array: current value is 7/,
    );
    await assert.rejects(pool.map(Math.max as never, [1]), /native and bound functions/);
    await assert.rejects(pool.map(square.bind(null) as never, [1]), /native and bound functions/);
  }),
);

Deno.test(
  "`new Pool()` refuses bad options with an error naming the option and the value",
  () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ workers: 0 }, /"workers" .* current value is 0$/],
      [{ workers: -1 }, /"workers" .* current value is -1$/],
      [{ workers: 1.5 }, /"workers" .* current value is 1.5$/],
      [{ workers: NaN }, /"workers" .* current value is NaN$/],
      [{ workers: Infinity }, /"workers" .* current value is Infinity$/],
      [
        { maxTasksPerChild: 0 },
        /"maxTasksPerChild" as it must be a positive integer: current value is 0$/,
      ],
      [{ maxTasksPerChild: -2 }, /"maxTasksPerChild" .* current value is -2$/],
      [{ maxCrashes: 0 }, /"maxCrashes" .* current value is 0$/],
      [
        { idleTimeout: -1 },
        /"idleTimeout" must be a number of ms, 0 or more: current value is -1$/,
      ],
      [{ idleTimeout: NaN }, /"idleTimeout" .* current value is NaN$/],
      [{ initializer: "setup" }, /"initializer" in a worker as it must be a function/],
      [{ permissions: "all" }, /"permissions" as it must be "none", "inherit" or an object/],
    ];
    for (const [options, message] of cases) {
      assert.throws(() => new Pool(options), (error: unknown) => {
        assert.ok(error instanceof RangeError || error instanceof TypeError, String(error));
        assert.match(error.message, message);
        return true;
      });
    }
  },
);

Deno.test(
  "an already aborted signal rejects every method with its reason, running nothing",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const reason = new Error("stop");
    const signal = AbortSignal.abort(reason);
    const ran = new Int32Array(new SharedArrayBuffer(4));
    const task = (shared: Int32Array) => Atomics.add(shared, 0, 1);
    const isReason = (e: unknown) => e === reason;
    await assert.rejects(pool.map(task, [ran], { signal }), isReason);
    await assert.rejects(pool.mapSettled(task, [ran], { signal }), isReason);
    await assert.rejects(pool.starmap(task, [[ran]], { signal }), isReason);
    await assert.rejects(pool.apply(task, [ran], { signal }), isReason);
    await assert.rejects(pool.imap(task, [ran], { signal }).next(), isReason);
    await assert.rejects(pool.imapUnordered(task, [ran], { signal }).next(), isReason);
    // The default reason is the platform's AbortError.
    await assert.rejects(
      pool.apply(task, [ran], { signal: AbortSignal.abort() }),
      (e: unknown) => e instanceof DOMException && e.name === "AbortError",
    );
    assert.equal(Atomics.load(ran, 0), 0);
    assert.equal(await pool.apply(task, [ran]), 0);
  }),
);

Deno.test(
  "a 64 MiB typed array goes to a worker and back intact",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const big = new Uint8Array(64 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const [sum, back] = await pool.apply((bytes: Uint8Array) => {
      let total = 0;
      for (let i = 0; i < bytes.length; i += 4096) total += bytes[i];
      bytes[1] = 7;
      return [total, bytes] as [number, Uint8Array];
    }, [big]);
    let expected = 0;
    for (let i = 0; i < big.length; i += 4096) expected += big[i];
    assert.equal(sum, expected);
    assert.equal(back.length, big.length);
    // Sent by copy: the worker's write shows in the result, not in the original.
    assert.equal(back[1], 7);
    assert.equal(big[1], 0);
    assert.equal(back[4096 * 100], big[4096 * 100]);
  }),
);
