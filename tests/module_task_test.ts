/**
 * `TaskModule`: a task named by its module and export, loaded in the
 * worker, and typed from the module so that a wrong name or argument fails
 * `deno check`.
 */
import assert from "node:assert/strict";
import { Pool, TaskError, TaskModule } from "../lib/mod.ts";
import { bounded } from "./_deadline.ts";
import { needs } from "./_needs.ts";

/** Module tasks live here; their workers are granted read access to it. */
const fixtures = new URL("./fixtures/", import.meta.url);
/** A pool can grant its workers only what the program holds. */
const READ_FIXTURES: Deno.PermissionDescriptor = { name: "read", path: fixtures };

Deno.test(
  needs("`TaskModule.task()` runs an export of the module by name", READ_FIXTURES),
  bounded(async () => {
    const tasks = new TaskModule<typeof import("./fixtures/tasks.ts")>(
      new URL("./fixtures/tasks.ts", import.meta.url),
    );
    await using pool = new Pool({ workers: 2, permissions: { read: [fixtures] } });
    assert.deepEqual(await pool.map(tasks.task("fib"), [1, 10, 20]), [1, 55, 6765]);
    assert.deepEqual(await pool.starmap(tasks.task("greet"), [["Hello", "Deno"]]), [
      "Hello, Deno",
    ]);
    const notFunction = new TaskModule<Record<string, (n: number) => number>>(
      new URL("./fixtures/tasks.ts", import.meta.url),
    );
    const error = await pool.apply(notFunction.task("answer"), [1]).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.match(error.message, /expected a function, got number/);
  }),
);

Deno.test(
  needs(
    "`TaskModule` types reject a wrong export name or argument type at check time",
    READ_FIXTURES,
  ),
  bounded(async () => {
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
  }),
);
