import assert from "node:assert/strict";
import { main as poolMain } from "../pool.ts";
import { main as threadsMain } from "../threads.ts";
import { runScript } from "../lib/cli.ts";
import { captureIo, runDeno } from "./_io.ts";

Deno.test("threads.ts interleaves the tasks round by round", async () => {
  const io = captureIo();
  const code = await runScript(threadsMain, ["--interval", "20"], io);
  assert.equal(code, 0);
  const expected: string[] = [];
  for (let n = 1; n <= 5; n++) {
    for (let t = 1; t <= 3; t++) expected.push(`Thread Thread-${t}: ${n}`);
  }
  expected.push("All threads have finished.");
  assert.deepEqual(io.stdout, expected);
  assert.deepEqual(io.stderr, []);
});

Deno.test("threads.ts honours --threads and --count", async () => {
  const io = captureIo();
  assert.equal(
    await runScript(threadsMain, ["--threads", "2", "--count", "2", "--interval", "0"], io),
    0,
  );
  assert.deepEqual(io.stdout, [
    "Thread Thread-1: 1",
    "Thread Thread-2: 1",
    "Thread Thread-1: 2",
    "Thread Thread-2: 2",
    "All threads have finished.",
  ]);
});

Deno.test("pool.ts prints the seed's output by default", async () => {
  const io = captureIo();
  assert.equal(await runScript(poolMain, [], io), 0);
  assert.deepEqual(io.stdout, [
    "Original numbers: [1, 2, 3, 4, 5]",
    "Squared numbers: [1, 4, 9, 16, 25]",
  ]);
});

Deno.test("pool.ts squares positional numbers and --range, with any chunk size", async () => {
  let io = captureIo();
  assert.equal(await runScript(poolMain, ["7", "8", "9"], io), 0);
  assert.deepEqual(io.stdout, ["Original numbers: [7, 8, 9]", "Squared numbers: [49, 64, 81]"]);
  io = captureIo();
  assert.equal(
    await runScript(poolMain, ["--range", "4", "--workers", "2", "--chunk-size", "3"], io),
    0,
  );
  assert.deepEqual(io.stdout, ["Original numbers: [1, 2, 3, 4]", "Squared numbers: [1, 4, 9, 16]"]);
  io = captureIo();
  assert.equal(await runScript(poolMain, ["--range", "100"], io), 0);
  assert.equal(
    io.stdout[1],
    "Squared numbers: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, ..., 9604, 9801, 10000] (100 numbers)",
  );
});

Deno.test("both scripts print --help and exit 0", async () => {
  for (const main of [poolMain, threadsMain]) {
    const io = captureIo();
    assert.equal(await runScript(main, ["--help"], io), 0);
    assert.match(io.stdout[0], /^(Concurrency|Parallelism): /);
    assert.ok(io.stdout.some((line) => line.startsWith("Usage: deno run ")));
  }
});

Deno.test("bad input gets one line on stderr and exit code 2", async (t) => {
  const cases: [typeof poolMain, string[], RegExp][] = [
    [poolMain, ["2", "x"], /^error: "x" is not a number/],
    [poolMain, ["--workers", "0"], /^error: --workers must be an integer from 1 to 256, got "0"/],
    [poolMain, ["--workers", "abc"], /^error: --workers must be/],
    [poolMain, ["--chunk-size", "0"], /^error: --chunk-size must be an integer of 1 or more/],
    [poolMain, ["--range", "3", "4"], /^error: give either numbers or --range/],
    [poolMain, ["--frobnicate"], /^error: Unknown option '--frobnicate'/],
    [threadsMain, ["--interval", "-5"], /^error: --interval must be an integer from 0/],
    [threadsMain, ["--threads", "1.5"], /^error: --threads must be/],
    [threadsMain, ["--count"], /^error: Option '--count <value>' argument missing/],
    [threadsMain, ["extra"], /^error: Unexpected argument 'extra'/],
  ];
  for (const [main, args, expected] of cases) {
    await t.step(args.join(" "), async () => {
      const io = captureIo();
      assert.equal(await runScript(main, args, io), 2);
      assert.deepEqual(io.stdout, []);
      assert.equal(io.stderr.length, 1);
      assert.match(io.stderr[0], expected);
    });
  }
});

Deno.test("deno run pool.ts and threads.ts work with no permission flag", async () => {
  const pool = await runDeno(["run", "pool.ts"]);
  assert.equal(pool.code, 0, pool.stderr);
  assert.equal(
    pool.stdout,
    "Original numbers: [1, 2, 3, 4, 5]\nSquared numbers: [1, 4, 9, 16, 25]\n",
  );
  const threads = await runDeno(["run", "threads.ts", "--interval", "1", "--count", "1"]);
  assert.equal(threads.code, 0, threads.stderr);
  assert.equal(threads.stdout.split("\n")[0], "Thread Thread-1: 1");
});

Deno.test("a bad flag on the real command line exits 2 with one line and no stack trace", async () => {
  const result = await runDeno(["run", "pool.ts", "--workers", "0"]);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trim().split("\n").length, 1);
  assert.doesNotMatch(result.stderr, /\bat \S+:\d+:\d+/);
});

Deno.test("a program that never closes its pool still exits when its work is done", async () => {
  const script = `
    import { Pool } from "./lib/mod.ts";
    const pool = new Pool({ workers: 2, idleTimeout: 100 });
    console.log(await pool.map((n) => n + 1, [1, 2, 3]));
  `;
  // runDeno kills the process at its deadline, so a hang fails here.
  const result = await runDeno(["eval", "--ext=ts", script]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "[ 2, 3, 4 ]");
});
