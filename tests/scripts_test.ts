import assert from "node:assert/strict";
import { main as poolMain } from "../pool.ts";
import { main as threadsMain } from "../threads.ts";
import { runScript } from "../demo/cli.ts";
import { captureIo, RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

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
    [threadsMain, ["--json", "--timeline"], /^error: give --json or --timeline, not both/],
    [threadsMain, ["--cpu", "--interval", "5"], /^error: give --cpu or --interval, not both/],
    [threadsMain, ["--cpu", "--work", "0"], /^error: --work must be an integer from 1/],
    [poolMain, ["--timeline", "--json"], /^error: give --json or --timeline, not both/],
    [poolMain, ["--work", "-1"], /^error: --work must be an integer from 0/],
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

Deno.test("threads.ts --timeline charts each task waiting between its steps", async () => {
  const io = captureIo();
  assert.equal(
    await runScript(threadsMain, ["--interval", "30", "--count", "3", "--timeline"], io),
    0,
  );
  const chart = io.stdout.slice(io.stdout.indexOf("") + 1);
  assert.deepEqual(chart.slice(0, 3).map((line) => line.slice(0, 10)), [
    "Thread-1 |",
    "Thread-2 |",
    "Thread-3 |",
  ]);
  for (const row of chart.slice(0, 3)) {
    // Three steps, each a mark, with waiting in between.
    assert.match(row, /^Thread-\d \|#+\.+#+\.+#+\.+ *\| +\d+%$/);
  }
  assert.ok(chart.every((line) => line.length <= 80));
  assert.match(chart.at(-1) ?? "", /# running/);
});

Deno.test("threads.ts --json prints one document with the lines and the spans", async () => {
  const io = captureIo();
  assert.equal(await runScript(threadsMain, ["--interval", "1", "--count", "2", "--json"], io), 0);
  assert.equal(io.stdout.length, 1);
  const doc = JSON.parse(io.stdout[0]);
  assert.equal(doc.lines.length, 7);
  assert.equal(doc.lines[6], "All threads have finished.");
  assert.equal(doc.spans.filter((span: { kind: string }) => span.kind === "run").length, 6);
  assert.ok(doc.spans.every((span: { start: number; end: number }) => span.end >= span.start));
});

Deno.test("threads.ts --cpu: async tasks take turns, workers overlap, same checksums", async () => {
  const io = captureIo();
  // Steps long enough (about 25 ms here) that the first worker is still busy
  // when the second has started.
  const args = ["--cpu", "--threads", "2", "--count", "3", "--work", "20", "--json"];
  assert.equal(await runScript(threadsMain, args, io), 0);
  const doc = JSON.parse(io.stdout[0]);
  assert.equal(doc.checksums.length, 2);
  assert.ok(doc.eventLoopMs > 0 && doc.workersMs > 0 && doc.speedup > 0);
  type S = { row: string; start: number; end: number; kind: string };
  const overlaps = (a: S, b: S) => a.start < b.end && b.start < a.end;
  const steps: S[] = doc.spans.eventLoop.filter((span: S) => span.kind === "run");
  assert.equal(steps.length, 6);
  // On one event loop no two steps ever run at the same time.
  for (const a of steps) {
    for (const b of steps) if (a !== b) assert.ok(!overlaps(a, b), JSON.stringify([a, b]));
  }
  // In workers the two tasks run at once.
  const [first, second] = doc.spans.workers as S[];
  assert.notEqual(first.row, second.row);
  assert.ok(overlaps(first, second), JSON.stringify([first, second]));

  const human = captureIo();
  assert.equal(await runScript(threadsMain, args.slice(0, -1).concat("--timeline"), human), 0);
  assert.match(human.stdout[0], /^CPU-bound work: 2 tasks × 3 steps of 20M operations, \d+ cores$/);
  assert.match(human.stdout[3], /^ {2}speedup: \d+\.\d\d×$/);
  assert.ok(human.stdout.includes("Async tasks on one event loop:"));
  assert.ok(human.stdout.some((line) => line.startsWith("worker 2 |")));
});

Deno.test("pool.ts --timeline charts the workers; --json is one parseable document", async () => {
  let io = captureIo();
  // Work enough that the second worker is up before the first has done it all:
  // tiny items would all run on the first worker while the second starts.
  const args = ["--range", "40", "--workers", "2", "--work", "5000", "--timeline"];
  assert.equal(await runScript(poolMain, args, io), 0);
  assert.match(io.stdout[3], /^40 numbers on 2 workers in .* pool start-up included:$/);
  assert.ok(io.stdout[4].startsWith("worker 1 |") && io.stdout[5].startsWith("worker 2 |"));
  io = captureIo();
  assert.equal(await runScript(poolMain, ["--json", "--work", "1", "3", "-0", "2.5"], io), 0);
  assert.equal(io.stdout.length, 1);
  const doc = JSON.parse(io.stdout[0]);
  assert.deepEqual(doc.numbers, [3, 0, 2.5]);
  assert.deepEqual(doc.squared, [9, 0, 6.25]);
  assert.equal(doc.work, 1);
  assert.equal(doc.spans.length >= 1, true);
});

Deno.test("pool.ts shows a progress bar on a terminal's stderr, and --quiet hides it", async () => {
  const io = { ...captureIo(), errIsTerminal: true };
  assert.equal(await runScript(poolMain, ["--range", "5000", "--workers", "2"], io), 0);
  const frames = io.stderr;
  assert.ok(frames.length >= 2, JSON.stringify(frames));
  assert.match(frames.at(-2) ?? "", /^\r\[#+\] 100% {2}5,000\/5,000 /);
  assert.equal(frames.at(-1), "\r\x1b[2K");
  assert.equal(io.stdout[1].startsWith("Squared numbers: [1, 4, 9"), true);
  const quiet = { ...captureIo(), errIsTerminal: true };
  assert.equal(await runScript(poolMain, ["--range", "5000", "--quiet"], quiet), 0);
  assert.deepEqual(quiet.stderr, []);
  // Not a terminal: no bar either.
  const piped = captureIo();
  assert.equal(await runScript(poolMain, ["--range", "5000"], piped), 0);
  assert.deepEqual(piped.stderr, []);
});

Deno.test(
  needs("deno run pool.ts and threads.ts work with no permission flag", RUN_DENO),
  async () => {
    const pool = await runDeno(["run", "pool.ts"]);
    assert.equal(pool.code, 0, pool.stderr);
    assert.equal(
      pool.stdout,
      "Original numbers: [1, 2, 3, 4, 5]\nSquared numbers: [1, 4, 9, 16, 25]\n",
    );
    const threads = await runDeno(["run", "threads.ts", "--interval", "1", "--count", "1"]);
    assert.equal(threads.code, 0, threads.stderr);
    assert.equal(threads.stdout.split("\n")[0], "Thread Thread-1: 1");
  },
);

Deno.test(
  needs("a bad flag on the real command line exits 2 with one line and no stack trace", RUN_DENO),
  async () => {
    const result = await runDeno(["run", "pool.ts", "--workers", "0"]);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.doesNotMatch(result.stderr, /\bat \S+:\d+:\d+/);
  },
);

Deno.test(
  needs("a program that never closes its pool still exits when its work is done", RUN_DENO),
  async () => {
    const script = `
    import { Pool } from "./lib/mod.ts";
    const pool = new Pool({ workers: 2, idleTimeout: 100 });
    console.log(await pool.map((n) => n + 1, [1, 2, 3]));
  `;
    // runDeno kills the process at its deadline, so a hang fails here.
    const result = await runDeno(["eval", "--ext=ts", script]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim(), "[ 2, 3, 4 ]");
  },
);

Deno.test(
  needs("the bench and soak scripts print --help and refuse bad flags with exit code 2", RUN_DENO),
  async (t) => {
    const cases: [string[], number, RegExp][] = [
      [["bench/run.ts", "--help"], 0, /^Usage: deno task bench .*\n[^]*map:1e6/],
      [["bench/soak.ts", "--help"], 0, /^Usage: deno task soak /],
      [["bench/run.ts", "--only", "nope"], 2, /^error: --only: no comparison named "nope"/],
      [["bench/run.ts", "--rounds", "0"], 2, /^error: --rounds must be an integer from 1/],
      [["bench/soak.ts", "--workers", "0"], 2, /^error: --workers must be an integer from 1/],
    ];
    for (const [args, code, expected] of cases) {
      await t.step(args.join(" "), async () => {
        const result = await runDeno(["run", ...args]);
        assert.equal(result.code, code, result.stderr);
        const shown = code === 0 ? result.stdout : result.stderr;
        assert.match(shown, expected);
        if (code !== 0) {
          assert.equal(result.stdout, "");
          assert.equal(result.stderr.trim().split("\n").length, 1);
        }
      });
    }
  },
);
