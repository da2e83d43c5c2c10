/** The `stayAwake` switch: idle workers that sleep at once still run every call. */
import assert from "node:assert/strict";
import { Pool } from "../lib/mod.ts";

Deno.test("`new Pool()` refuses a stayAwake that is not a boolean", () => {
  for (const bad of ["yes", 1, null]) {
    assert.throws(
      () => new Pool({ workers: 1, stayAwake: bad as unknown as boolean }),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(
          'Cannot use "stayAwake" as it must be a boolean: current value is',
        ),
    );
  }
});

Deno.test("`Pool` with stayAwake: false runs awaited calls and maps as the default does", async () => {
  await using pool = new Pool({ workers: 2, stayAwake: false });
  for (let i = 0; i < 50; i++) assert.equal(await pool.apply((n: number) => n + 1, [i]), i + 1);
  const items = Array.from({ length: 1000 }, (_, i) => i);
  assert.deepEqual(await pool.map((n: number) => n * 2, items), items.map((n) => n * 2));
});
