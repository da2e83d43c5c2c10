/**
 * Worker processes (`isolation: "process"`): what they survive that
 * threads cannot, a task that never returns and one that runs out of
 * memory, and the permissions they are started with. The contract the two
 * kinds share is `process_contract_test.ts`'s.
 */
import assert from "node:assert/strict";
import { Pool, TaskError, WorkerCrashedError } from "../lib/mod.ts";
import { bounded, settles, within } from "./_deadline.ts";
import { RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

const fixtures = new URL("./fixtures/", import.meta.url);

/** The worker processes running now, by their command lines. */
async function workerProcesses(): Promise<number> {
  const { stdout } = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" })
    .output();
  return new TextDecoder().decode(stdout).split("\n")
    .filter((line) => line.includes("worker/process/main.ts")).length;
}

Deno.test({
  ...needs(
    "a runaway task on a worker process is killed when aborted, and the program exits by itself",
    RUN_DENO,
    { name: "run", command: "ps" },
  ),
  fn: bounded(async () => {
    const before = await workerProcesses();
    const { code, stdout, stderr } = await runDeno(
      ["run", `--allow-run=${Deno.execPath()}`, "tests/fixtures/process_runaway.ts"],
      20_000,
    );
    assert.deepEqual(stdout.trim().split("\n"), [
      "timed out: TimeoutError",
      "next call: 42",
      "joined",
      "terminated, stuck call: PoolClosedError",
    ], stderr);
    assert.equal(code, 0, stderr);
    // No process was left behind spinning on a CPU.
    assert.equal(await workerProcesses(), before);
  }, 25_000),
});

Deno.test({
  ...needs(
    "a task that runs out of memory fails with WorkerCrashedError naming it and the limit",
    RUN_DENO,
  ),
  fn: bounded(async () => {
    await using pool = new Pool({
      workers: 2,
      isolation: "process",
      resourceLimits: { maxOldGenerationSizeMb: 64 },
    });
    const hog = (n: number) => {
      if (n !== 3) return n * 10;
      const kept: number[][] = [];
      while (true) kept.push(new Array(100_000).fill(n + 0.5));
    };
    const outcomes = await settles(pool.mapSettled(hog, [1, 2, 3, 4, 5], { chunkSize: 1 }), "map");
    assert.deepEqual(outcomes.map((o) => o.status === "fulfilled" ? o.value : "x"), [
      10,
      20,
      "x",
      40,
      50,
    ]);
    const failed = outcomes[2];
    assert.ok(failed.status === "rejected");
    const error = failed.reason;
    assert.ok(error instanceof WorkerCrashedError, String(error));
    assert.equal(error.index, 2);
    assert.match(error.message, /task 2 .*ran out of memory at its heap limit of 64 MB/);
    // The program that made the pool goes on, and so does the pool.
    assert.equal(await pool.apply((n: number) => n + 1, [1]), 2);
  }, 60_000),
});

Deno.test({
  ...needs("a worker process has only the permissions its pool grants", RUN_DENO, {
    name: "read",
    path: fixtures,
  }),
  fn: bounded(async () => {
    const readIt = (path: string) => Deno.readTextFileSync(path).length > 0;
    const file = new URL("tasks.ts", fixtures).pathname;
    {
      await using pool = new Pool({ workers: 1, isolation: "process" });
      const error = await pool.apply(readIt, [file]).catch((e) => e);
      assert.ok(error instanceof TaskError, String(error));
      assert.equal((error.cause as Error).name, "NotCapable");
    }
    {
      await using pool = new Pool({
        workers: 1,
        isolation: "process",
        permissions: { read: [fixtures] },
      });
      assert.equal(await pool.apply(readIt, [file]), true);
    }
  }, 30_000),
});

Deno.test({
  ...needs("a pool of worker processes that may not run Deno says which grant it needs", RUN_DENO),
  fn: bounded(async () => {
    const { code, stdout, stderr } = await runDeno(["run", "tests/fixtures/process_no_run.ts"]);
    assert.equal(code, 0, stderr);
    assert.equal(
      stdout.trim(),
      "WorkerInitError: Cannot start worker 1 as Deno refused to create it: NotCapable: " +
        `Cannot start a worker process as the program may not run Deno: ` +
        `isolation "process" needs --allow-run=${Deno.execPath()}`,
    );
  }, 30_000),
});

Deno.test("`new Pool()` checks isolation and resourceLimits at the door", () => {
  const refusals: [Record<string, unknown>, RegExp][] = [
    [{ isolation: "fork" }, /^Cannot use "isolation" as it must be "thread" or "process"/],
    [
      { resourceLimits: { maxOldGenerationSizeMb: 64 } },
      /^Cannot use "resourceLimits" with isolation "thread"/,
    ],
    [
      { isolation: "process", resourceLimits: 64 },
      /^Cannot use "resourceLimits" as it must be an object/,
    ],
    [
      { isolation: "process", resourceLimits: { maxOldGenerationSizeMb: 0 } },
      /^Cannot use "resourceLimits.maxOldGenerationSizeMb" as it must be a positive integer/,
    ],
  ];
  for (const [options, message] of refusals) {
    assert.throws(
      () => new Pool({ workers: 1, ...options }),
      (error: unknown) => error instanceof Error && message.test(error.message),
      String(message),
    );
  }
});

Deno.test({
  ...needs(
    "a worker process sends finished results before it runs a long synchronous task",
    RUN_DENO,
    { name: "write", path: ".scratch" },
    { name: "read", path: ".scratch" },
  ),
  fn: bounded(async () => {
    await Deno.mkdir(".scratch", { recursive: true });
    const gate = await Deno.realPath(".scratch");
    const file = `${gate}/gate-${crypto.randomUUID()}`;
    await using pool = new Pool({
      workers: 1,
      isolation: "process",
      permissions: { read: [gate] },
    });
    // Spins, holding its process's thread, until the file appears.
    const spinning = (path: string | null) => {
      if (path === null) return "quick";
      while (true) {
        try {
          Deno.statSync(path);
          return "opened";
        } catch {
          // Not there yet.
        }
      }
    };
    await Promise.all(Array.from({ length: 200 }, () => pool.apply(spinning, [null])));
    const quick = Array.from({ length: 5 }, () => pool.apply(spinning, [null]));
    const slow = pool.apply(spinning, [file]);
    try {
      assert.deepEqual(
        await within(Promise.all(quick), "the quick calls", 10_000),
        ["quick", "quick", "quick", "quick", "quick"],
      );
    } finally {
      await Deno.writeTextFile(file, "");
    }
    assert.equal(await within(slow, "the slow call", 10_000), "opened");
    await Deno.remove(file);
  }),
});
