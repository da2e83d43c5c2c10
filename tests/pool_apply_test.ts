/**
 * `Pool.apply()`: one call with its arguments, its result or its error, on
 * the worker that is readiest for it.
 */
import assert from "node:assert/strict";
import { Recorder } from "../lib/mod.ts";
import { Pool } from "./_pool.ts";
import { bounded, until } from "./_deadline.ts";

function square(n: number): number {
  return n * n;
}

Deno.test(
  "`Pool.apply()` runs one call, async functions too",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    assert.equal(await pool.apply((a: number, b: number) => a + b, [2, 3]), 5);
    assert.equal(
      await pool.apply(async (s: string) => await Promise.resolve(s.toUpperCase()), ["hi"]),
      "HI",
    );
  }),
);

Deno.test(
  "`Pool.apply()` awaited one call at a time stays on the worker that answered the last",
  bounded(async () => {
    const recorder = new Recorder();
    await using pool = new Pool({ workers: 3, recorder });
    await until(() => pool.liveWorkers === 3, "three live workers");
    for (let i = 0; i < 10; i++) await pool.apply(square, [i]);
    const rows = new Set(recorder.spans.map((span) => span.row));
    assert.equal(rows.size, 1, `calls went to ${[...rows].join(", ")}`);
  }),
);
