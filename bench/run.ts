/**
 * Side-by-side benchmarks: each comparison runs in a fresh Deno process, its
 * contenders in turn, alternating, for several rounds, and reports medians
 * and ratios from the same run. Figures are also written to
 * bench/results/latest.json.
 *
 *     deno task bench [--rounds N] [--only NAME[,NAME...]]
 *
 * Python's `multiprocessing.Pool` runs the same workloads when `python3` is
 * on the PATH; each of its rounds is a fresh `python3` process that reports
 * the time of the measured part only.
 *
 * The `cluster:` comparisons run `ClusterPool` on a NATS JetStream server
 * and node processes on this machine, which they start and stop themselves
 * (see `cluster.ts`); where `nats-server` is missing they are skipped, with
 * one line that says so.
 *
 * @module
 */

import { integerFlag, type Io, parseFlags, runScript, UsageError } from "../demo/cli.ts";
import { Pool, type PoolOptions, Recorder } from "../lib/mod.ts";
import { workerSource } from "../lib/worker/program.ts";
import * as v8 from "node:v8";
import { AtomicsCall, AtomicsCallBothWays, AtomicsNumbers, PortWindow } from "./atomics_wakeup.ts";
import { FloorPool, PackedFloor, programUrl, ShapedFloorPool, SplitFloor } from "./floor_pool.ts";
import { roundOrder } from "./round_order.ts";
import {
  comparisonFlags,
  Gate,
  heldTask,
  isClusterComparison,
  layout,
  LocalCluster,
  natsServerMissing,
  skippedNote,
  storePath,
} from "./cluster.ts";
import { EXIT_CODES, type Interrupt, onInterrupt } from "./interrupt.ts";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { bestFinish, workerPaces } from "./schedule_bound.ts";

interface Row {
  readonly comparison: string;
  readonly contender: string;
  readonly medianMs: number;
  readonly unit: string;
  readonly perUnit: number;
}

/** Rounds each comparison runs; set from `--rounds`. */
let rounds = 5;
/** Where a cluster comparison's server keeps its store; set from `--store`. */
let store: string | undefined;
/** How long each contender runs untimed before its first timed round, at least. */
const WARM_UP_MS = 250;
/** The longest one comparison may take before its process is ended. */
const COMPARISON_LIMIT_MS = 20 * 60_000;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Runs each contender once per round, in turn, and returns the median time of
 * each. A contender that resolves with a number reports its own time in ms
 * (a subprocess timing only its measured part); otherwise its wall time counts.
 *
 * Each round runs the contenders in another order (see `roundOrder`), so
 * that no contender always runs right after the same other one: a contender
 * pays for the garbage the one before it left (a pool that ran 100,000 calls
 * leaves 100,000 settled promises to collect) and finds the CPUs as awake as
 * it left them; in a fixed order, both fell on the same row in nearly every
 * round.
 *
 * Every contender first runs untimed, again and again until it has run for
 * `WARM_UP_MS` (at least once): each comparison has a fresh process, and a
 * contender's first runs there also pay for Deno's first worker and for
 * compiling its code. A loop squaring a million numbers into a new array took
 * 11-33 ns an item in its first three runs in a process and 2.2-4.6 ns from
 * the fourth or fifth on; warmed up only once, the tiny-item maps' medians fell
 * on one side or the other of that change from run to run.
 */
async function compare(
  contenders: Record<string, () => Promise<unknown>>,
): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(Object.keys(contenders).map((name) => [name, []]));
  const entries = Object.entries(contenders);
  for (const [, run] of entries) {
    const started = performance.now();
    do await run(); while (performance.now() - started < WARM_UP_MS);
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, run] of roundOrder(entries.length, round).map((i) => entries[i])) {
      const started = performance.now();
      const reported = await run();
      const wall = performance.now() - started;
      times.get(name)?.push(typeof reported === "number" ? reported : wall);
    }
  }
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

const python = await hasPython();
const notes: string[] = [];
if (!python) notes.push("python3 not found: Python's multiprocessing.Pool rows are skipped");

async function hasPython(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("python3", { args: ["--version"], stdout: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** Runs one workload of bench/python_pool.py and returns the time it reports. */
async function pythonPool(workload: string): Promise<number> {
  const script = new URL("./python_pool.py", import.meta.url).pathname;
  const output = await new Deno.Command("python3", { args: [script, workload] }).output();
  if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
  return JSON.parse(new TextDecoder().decode(output.stdout)).ms;
}

/** The Python contender, or nothing when python3 is missing. */
function withPython(name: string, workload: string): Record<string, () => Promise<unknown>> {
  return python ? { [name]: () => pythonPool(workload) } : {};
}

/**
 * CPU-bound work: `millions` million steps of a linear congruential
 * generator, about 1.3 ms a million on the 2-core machine. A loop, not a
 * recursive `fib`: `fib(31)` took anywhere from 15 to 30 ms from one fresh
 * isolate to the next, as V8's optimizer happened to compile it, and that
 * lottery moved a one-second job by more than the pool's own costs; this
 * loop took 15.7 to 16.3 ms for 12 million in ten fresh workers.
 */
function spin(millions: number): number {
  let state = 1;
  const steps = Math.round(millions * 1_000_000);
  for (let i = 0; i < steps; i++) state = (Math.imul(state, 1103515245) + 12345) | 0;
  return state;
}

/**
 * The classic CPU-bound task, call-heavy integer arithmetic: what a user
 * tries first. V8 compiles it for small integers only when its argument is
 * one, so it also shows how items reach the task.
 */
function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** `fib(27)`: about 1.2-1.9 ms on the 2-core machine. */
const FIB_N = 27;

/** `spin` for about 15 ms on the 2-core machine. */
const ITEM = 12;

/**
 * Times `map(spin, items)` on a pool of `workers` whose workers have all
 * started: the time it reports leaves start-up out. The pool is made afresh
 * for each round. On the 2-core machine a worker that had been sent about 300
 * items, one message each, ran the next ones at 23-30 ms instead of 15, and a
 * pool kept for every round crossed that line. The main thread did the same
 * when it yielded to the event loop between items, so it is the virtual
 * machine's doing (a CPU that keeps halting and waking), not the workers'.
 */
async function timedOnStartedPool(workers: number, items: number[]): Promise<number> {
  const pool = await startedPool({ workers });
  const started = performance.now();
  await pool.map(spin, items, { chunkSize: 1 });
  const ms = performance.now() - started;
  await pool.terminate();
  return ms;
}

/** What a recorded CPU-bound job could have taken, one entry per run. */
interface CpuBounds {
  /** With its items split at best over its workers, as they started and ran. */
  readonly bestSplit: number[];
  /** The same, had every worker started with the first. */
  readonly sameStart: number[];
}

/**
 * `map(spin, items)` on a new pool of `workers`, start-up included, with a
 * `Recorder` on (a span per item, a few microseconds in all). Returns the time
 * it took, and pushes onto `bounds` that time less what the items' best split
 * (`bestFinish`) would have saved: with the workers as they were, and with
 * them all starting when the first did.
 */
async function recordedCpuJob(
  workers: number,
  items: number[],
  bounds?: CpuBounds,
): Promise<number> {
  const recorder = new Recorder();
  const started = performance.now();
  {
    await using pool = new Pool({ workers, recorder });
    await pool.map(spin, items, { chunkSize: 1 });
  }
  const ms = performance.now() - started;
  if (bounds) {
    const spans = recorder.spans;
    const lastEnd = Math.max(...spans.map((span) => span.end));
    const paces = workerPaces(spans);
    const first = Math.min(...paces.map((worker) => worker.start));
    const together = paces.map((worker) => ({ ...worker, start: first }));
    bounds.bestSplit.push(ms - (lastEnd - bestFinish(paces, items.length)));
    bounds.sameStart.push(ms - (lastEnd - bestFinish(together, items.length)));
  }
  return ms;
}

/**
 * `spin` over `items` on `workers` workers started by hand, the items sent
 * round-robin all at once, one message each: what the job costs written
 * without a pool, start-up included.
 */
async function handWritten(workers: number, items: number[]): Promise<void> {
  const floor = new FloorPool(workers, spin);
  await Promise.all(items.map((x) => floor.run(x)));
  floor.close();
}

const square = (x: number) => x * x;

/** `map(square, n numbers)` with the default chunk size, against a loop, the packed floor and Python. */
async function tinyMap(n: number, pythonWorkload: string): Promise<void> {
  const items = Array.from({ length: n }, (_, i) => i);
  const pool = await startedPool({ workers: 2 });
  const processes = await startedPool({ workers: 2, isolation: "process" });
  const packed = new PackedFloor(2);
  await pool.map(square, [1]);
  await processes.map(square, [1]);
  await packed.squares([1], 1);
  const medians = await compare({
    "sequential for loop": () => {
      const out = new Array(n);
      for (let i = 0; i < n; i++) out[i] = square(items[i]);
      return Promise.resolve(out);
    },
    "Pool.map (2 workers)": () => pool.map(square, items),
    "Pool.map (2 worker processes)": () => processes.map(square, items),
    "hand-written Float64Array transfer": () => packed.squares(items, Math.ceil(n / 8)),
    ...withPython("Python Pool.map", pythonWorkload),
  });
  report(`map(square, ${n === 1e5 ? "1e5" : "1e6"} numbers)`, medians, "ns/item", n / 1000);
  await pool.terminate();
  await processes.terminate();
  packed.close();
}

/**
 * A pool whose workers have all started and never idle out, for timing work
 * without start-up: a pool starts its workers one per turn of the event loop.
 */
async function startedPool(options: PoolOptions): Promise<Pool> {
  const pool = new Pool({ ...options, idleTimeout: Infinity });
  while (pool.liveWorkers < pool.workers) await new Promise((resolve) => setTimeout(resolve, 1));
  return pool;
}

/** Worker counts for the scaling comparisons: powers of two below the core count, then the core count. */
function workerCounts(): number[] {
  const cores = navigator.hardwareConcurrency;
  return [...[1, 2, 4, 8, 16, 32, 64].filter((n) => n < cores), cores];
}

const workersLabel = (n: number) => `${n} worker${n === 1 ? "" : "s"}`;

/** One comparison whose contenders are the same work at each worker count. */
async function byWorkerCount(
  comparison: string,
  unit: string,
  units: number,
  contender: (workers: number) => () => Promise<unknown>,
  suffix = "",
): Promise<void> {
  const contenders = Object.fromEntries(
    workerCounts().map((workers) => [workersLabel(workers) + suffix, contender(workers)]),
  );
  report(comparison, await compare(contenders), unit, units);
}

/** `byWorkerCount` on pools started before the first round and kept for all of them. */
async function onStartedPools(
  comparison: string,
  unit: string,
  units: number,
  run: (pool: Pool) => Promise<unknown>,
): Promise<void> {
  const counts = workerCounts();
  const pools = await Promise.all(counts.map((workers) => startedPool({ workers })));
  await byWorkerCount(
    comparison,
    unit,
    units,
    (workers) => () => run(pools[counts.indexOf(workers)]),
  );
  for (const pool of pools) await pool.terminate();
}

/** The rows this process measured. */
const rows: Row[] = [];
/** Keeps a comparison's medians as rows, in the order of its contenders. */
function report(comparison: string, medians: Map<string, number>, unit: string, units: number) {
  for (const [contender, ms] of medians) {
    rows.push({ comparison, contender, medianMs: ms, unit, perUnit: (ms * 1000) / units });
  }
}

/** Prints rows as tables, one per comparison, with ratios against its first contender. */
function print(measured: readonly Row[], io: Io): void {
  let base = 1;
  measured.forEach((row, i) => {
    if (i === 0 || measured[i - 1].comparison !== row.comparison) {
      io.out(row.comparison);
      base = row.medianMs;
    }
    io.out(
      `  ${row.contender.padEnd(48)} ${row.perUnit.toFixed(2).padStart(10)} ${row.unit.padEnd(8)}` +
        `  ${(base / row.medianMs).toFixed(2)}x vs first`,
    );
  });
}

/**
 * Starts `count` workers on the pool's own worker program, one after another,
 * sends each the messages a pool would (`init`, `define`), and asks the first
 * for a result: the pool's start-up, done by hand.
 */
async function startPoolProgram(count: number): Promise<void> {
  const url = programUrl(workerSource());
  const workers = Array.from({ length: count }, (_, id) => {
    const worker = new Worker(url, { type: "module" });
    const stop = new Int32Array(new SharedArrayBuffer(4));
    worker.postMessage({ type: "init", workerId: id, stop, initializer: null, initArgs: [] });
    const spec = { kind: "source", source: square.toString(), name: "square" };
    worker.postMessage({ type: "define", fnId: 0, spec });
    return worker;
  });
  await new Promise((resolve) => {
    workers[0].onmessage = resolve;
    // A batch of one chunk: [id, slot, tag, fnId, spread, settle, items] (see lib/_protocol.ts).
    workers[0].postMessage([[0, 0, 1, 0, false, false, [3]]]);
  });
  for (const worker of workers) worker.terminate();
  URL.revokeObjectURL(url);
}

/**
 * The cluster contenders' layouts, each on a stream of its own so that its
 * nodes take only its chunks. On the 2-core machine two workers in all is
 * the fair setting: one node of 2 workers, or two nodes of 1.
 */
const LAYOUTS = [
  { nodes: 1, workers: 2, stream: "BENCH_1x2" },
  { nodes: 2, workers: 1, stream: "BENCH_2x1" },
] as const;

/** The lease of the recovery comparison's nodes, in ms (`--lease`; 10 s by default). */
const LEASE_MS = 1000;

/** The longest a cluster comparison waits for a task to start or a call to end. */
const CLUSTER_WAIT_MS = 60_000;

/** Starts this comparison's NATS server, its store in the folder `--store` names. */
function startCluster(): Promise<LocalCluster> {
  if (store === undefined) {
    throw new Error("a cluster comparison needs --store DIR, which `deno task bench` passes it");
  }
  return LocalCluster.start(store);
}

/**
 * A server, the nodes of `layouts` (started side by side, once for every
 * round), and a `ClusterPool` on each layout's stream whose `parallelism`
 * is its worker count, as a local pool's `workers`. `stack` ends them all,
 * pools first, also when the comparison throws; a Ctrl-C ends the nodes and
 * the server (see `LocalCluster`).
 */
async function clusterPools(
  stack: AsyncDisposableStack,
  layouts: readonly (typeof LAYOUTS)[number][],
): Promise<ClusterPool[]> {
  const cluster = stack.use(await startCluster());
  await Promise.all(
    layouts.flatMap(({ nodes, workers, stream }) =>
      Array.from(
        { length: nodes },
        () => cluster.startNode({ workers, stream, flags: ["--allow-source"] }),
      )
    ),
  );
  const pools: ClusterPool[] = [];
  for (const { nodes, workers, stream } of layouts) {
    const pool = await ClusterPool.connect({
      servers: cluster.url,
      stream,
      parallelism: nodes * workers,
      name: "bench",
    });
    // terminate(), not close(): a call that a failed round left waiting must not hold the end.
    stack.defer(() => pool.terminate());
    pools.push(pool);
  }
  return pools;
}

/**
 * A cluster contender: an untimed call that hands each of the layout's
 * `workers` a chunk or two, then `job`, timed alone. A node's workers end
 * after a second idle (its local pool's default `idleTimeout`; the node has
 * no flag for it), as they may while the other contenders run, so without it
 * a round could time their start-up too; the local pools' rows time started
 * workers.
 */
function onStartedNodes(
  pool: ClusterPool,
  workers: number,
  job: () => Promise<unknown>,
): () => Promise<number> {
  const wake = Array.from({ length: 2 * workers }, (_, i) => i);
  return async () => {
    await pool.map(square, wake, { chunkSize: 1 });
    const started = performance.now();
    await job();
    return performance.now() - started;
  };
}

/** `promise`, or an error saying what did not happen in `CLUSTER_WAIT_MS`. */
async function inTime<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not happen in ${CLUSTER_WAIT_MS / 1000} s`)),
      CLUSTER_WAIT_MS,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every comparison by name; a name's part before the colon names a group for `--only`. */
const comparisons: Record<string, () => Promise<void>> = {
  // Per-task overhead: 100,000 tiny tasks queued at once, one call each.
  async tasks() {
    const N = 100_000;
    const items = Array.from({ length: N }, (_, i) => i);
    const floor = new FloorPool(2);
    const pool = await startedPool({ workers: 2 });
    const recorded = await startedPool({ workers: 2, recorder: new Recorder() });
    const asleep = await startedPool({ workers: 2, stayAwake: false });
    const processes = await startedPool({ workers: 2, isolation: "process" });
    await floor.run(1);
    await pool.apply(square, [1]);
    await recorded.apply(square, [1]);
    await asleep.apply(square, [1]);
    await processes.apply(square, [1]);
    const medians = await compare({
      "hand-written floor pool": () => Promise.all(items.map((x) => floor.run(x))),
      "Pool.apply": () => Promise.all(items.map((x) => pool.apply(square, [x]))),
      "Pool.apply, recording on": () => Promise.all(items.map((x) => recorded.apply(square, [x]))),
      "Pool.apply, stayAwake: false": () =>
        Promise.all(items.map((x) => asleep.apply(square, [x]))),
      "Pool.apply, worker processes": () =>
        Promise.all(items.map((x) => processes.apply(square, [x]))),
      ...withPython("Python Pool.apply_async", "tasks"),
    });
    report("100,000 queued tiny tasks", medians, "µs/task", N);
    floor.close();
    await pool.terminate();
    await recorded.terminate();
    await asleep.terminate();
    await processes.terminate();
  },

  // Latency: one awaited call at a time.
  async latency() {
    const N = 2000;
    const floor = new FloorPool(2);
    const pool = await startedPool({ workers: 2 });
    const asleep = await startedPool({ workers: 2, stayAwake: false });
    const processes = await startedPool({ workers: 2, isolation: "process" });
    const shaped = new ShapedFloorPool(2);
    const numbers = new AtomicsNumbers();
    const call = new AtomicsCall(v8.serialize);
    const bothWays = new AtomicsCallBothWays(v8);
    const portWindow = new PortWindow();
    await floor.run(1);
    await shaped.square(1);
    await pool.apply(square, [1]);
    await asleep.apply(square, [1]);
    await processes.apply(square, [1]);
    await numbers.square(1);
    await call.square(1);
    await bothWays.square(1);
    await portWindow.square(1);
    const medians = await compare({
      "raw postMessage round trip": async () => {
        for (let i = 0; i < N; i++) await floor.run(i);
      },
      "raw round trip, messages shaped like the pool's": async () => {
        for (let i = 0; i < N; i++) await shaped.square(i);
      },
      "Pool.apply, awaited": async () => {
        for (let i = 0; i < N; i++) await pool.apply(square, [i]);
      },
      "Pool.apply, awaited, stayAwake: false": async () => {
        for (let i = 0; i < N; i++) await asleep.apply(square, [i]);
      },
      "Pool.apply, awaited, worker processes": async () => {
        for (let i = 0; i < N; i++) await processes.apply(square, [i]);
      },
      "Atomics both ways, numbers only": async () => {
        for (let i = 0; i < N; i++) await numbers.square(i);
      },
      "Atomics.wait wake-up, v8-serialized call": async () => {
        for (let i = 0; i < N; i++) await call.square(i);
      },
      "Atomics both ways, v8-serialized call": async () => {
        for (let i = 0; i < N; i++) await bothWays.square(i);
      },
      "MessagePort, taken in a 1 ms Atomics.wait": async () => {
        for (let i = 0; i < N; i++) await portWindow.square(i);
      },
      // Python's figure is its own median of single calls, not a loop of N.
      ...(python ? { "Python Pool.apply": async () => (await pythonPool("latency")) * N } : {}),
    });
    report("one awaited call", medians, "µs/call", N);
    numbers.close();
    call.close();
    bothWays.close();
    portWindow.close();
    shaped.close();
    floor.close();
    await pool.terminate();
    await asleep.terminate();
    await processes.terminate();
  },

  // Tiny-item map: squares with the default chunk size.
  "map:1e5": () => tinyMap(100_000, "map100k"),
  "map:1e6": () => tinyMap(1_000_000, "map1m"),

  // How the chunk size moves the time of map(square, 1e6 numbers).
  async chunks() {
    const N = 1_000_000;
    const items = Array.from({ length: N }, (_, i) => i);
    const pool = await startedPool({ workers: 2 });
    await pool.map(square, [1]);
    const sizes = [100, 1_000, 10_000, 31_250, 125_000, 500_000];
    const medians = await compare(Object.fromEntries(
      sizes.map((chunkSize) => [
        `chunkSize ${chunkSize.toLocaleString("en-US")}${
          chunkSize === Math.ceil(N / 8) ? " (default)" : ""
        }`,
        () => pool.map(square, items, { chunkSize }),
      ]),
    ));
    report("map(square, 1e6) by chunk size", medians, "ns/item", N / 1000);
    await pool.terminate();
  },

  // CPU-bound: 64 items of about 15 ms each.
  async cpu() {
    const items = Array.from({ length: 64 }, () => ITEM);
    const bounds: CpuBounds = { bestSplit: [], sameStart: [] };
    const recorded = "Pool, 2 workers, start-up included";
    const medians = await compare({
      "sequential for loop": () => Promise.resolve(items.map(spin)),
      "Pool, 1 worker, start-up included": () => recordedCpuJob(1, items),
      [recorded]: () => recordedCpuJob(2, items, bounds),
      "hand-written workers, 1, start-up included": () => handWritten(1, items),
      "hand-written workers, 2, start-up included": () => handWritten(2, items),
      "Pool, 1 worker, started": () => timedOnStartedPool(1, items),
      "Pool, 2 workers, started": () => timedOnStartedPool(2, items),
    });
    // Derived from that row's timed rounds (the last entries; the untimed runs came first),
    // and shown after it.
    const rows = [...medians];
    rows.splice(
      rows.findIndex(([name]) => name === recorded) + 1,
      0,
      ["same runs, items split at best", median(bounds.bestSplit.slice(-rounds))],
      ["same runs, both workers starting with the first", median(bounds.sameStart.slice(-rounds))],
    );
    report("64 x spin(12), about 1 s of work", new Map(rows), "ms/job", 1000);
  },

  // CPU-bound, the task a user tries first: 64 x fib(27), against the plain loop on the main
  // thread and a hand-written split over workers. "Started" rows keep their workers (and the
  // JIT's work in them) for every round; start-up rows make them afresh each round.
  async fib() {
    const items = Array.from({ length: 64 }, () => FIB_N);
    const pools = [
      await startedPool({ workers: 1 }),
      await startedPool({ workers: 2 }),
      await startedPool({ workers: 2, isolation: "process" }),
    ];
    const hands = [new SplitFloor(1, fib), new SplitFloor(2, fib)];
    const medians = await compare({
      "plain loop: items.map(fib)": () => Promise.resolve(items.map(fib)),
      "hand-written workers, 1, started": () => hands[0].map(items),
      "hand-written workers, 2, started": () => hands[1].map(items),
      "Pool.map, 1 worker, started": () => pools[0].map(fib, items),
      "Pool.map, 2 workers, started": () => pools[1].map(fib, items),
      "Pool.map, 2 worker processes, started": () => pools[2].map(fib, items),
      "hand-written workers, 2, start-up included": async () => {
        const hand = new SplitFloor(2, fib);
        await hand.map(items);
        hand.close();
      },
      "Pool.map, 1 worker, start-up included": async () => {
        await using pool = new Pool({ workers: 1 });
        await pool.map(fib, items);
      },
      "Pool.map, 2 workers, start-up included": async () => {
        await using pool = new Pool({ workers: 2 });
        await pool.map(fib, items);
      },
      "Pool.map, 2 worker processes, start-up included": async () => {
        await using pool = new Pool({ workers: 2, isolation: "process" });
        await pool.map(fib, items);
      },
    });
    report(`64 x fib(${FIB_N}), against the plain loop`, medians, "ms/job", 1000);
    for (const pool of pools) await pool.terminate();
    for (const hand of hands) hand.close();
  },

  // How the pool scales with its worker count, up to the machine's cores: CPU-bound work
  // of 128 items of about 15 ms, with workers started and with start-up.
  "scaling:cpu": () => {
    const job = Array.from({ length: 128 }, () => ITEM);
    return byWorkerCount(
      "128 x spin(12) by worker count",
      "ms/job",
      1000,
      (workers) => () => timedOnStartedPool(workers, job),
      ", started",
    );
  },
  "scaling:cold": () => {
    const job = Array.from({ length: 128 }, () => ITEM);
    return byWorkerCount(
      "128 x spin(12) by worker count, start-up included",
      "ms/job",
      1000,
      (workers) => async () => {
        await using pool = new Pool({ workers });
        await pool.map(spin, job, { chunkSize: 1 });
      },
      ", start-up included",
    );
  },
  // Message-bound work, on pools started once for all rounds.
  "scaling:tasks": () => {
    const tasks = Array.from({ length: 100_000 }, (_, i) => i);
    return onStartedPools(
      "100,000 queued tiny tasks by worker count",
      "µs/task",
      100_000,
      (pool) => Promise.all(tasks.map((x) => pool.apply(square, [x]))),
    );
  },
  "scaling:map": () => {
    const numbers = Array.from({ length: 1_000_000 }, (_, i) => i);
    return onStartedPools(
      "map(square, 1e6) by worker count",
      "ns/item",
      1000,
      (pool) => pool.map(square, numbers),
    );
  },

  // Start-up: a pool of three created, and the first result back.
  async startup() {
    const medians = await compare({
      "3 hand-started workers": async () => {
        const floor = new FloorPool(3);
        await floor.run(3);
        floor.close();
      },
      "3 hand-started workers running the pool's program": () => startPoolProgram(3),
      "new Pool({ workers: 3 })": async () => {
        await using pool = new Pool({ workers: 3 });
        await pool.apply(square, [3]);
      },
      'new Pool({ workers: 3, permissions: "inherit" })': async () => {
        await using pool = new Pool({ workers: 3, permissions: "inherit" });
        await pool.apply(square, [3]);
      },
      // What the first result does not show: all three at work takes as long as by hand.
      "new Pool({ workers: 3 }), all 3 started": async () => {
        await using pool = new Pool({ workers: 3 });
        await pool.apply(square, [3]);
        while (pool.liveWorkers < 3) await new Promise((resolve) => setTimeout(resolve, 0));
      },
    });
    report("start 3 workers, the first result back", medians, "ms", 1000);
  },

  // Start-up by worker count, threads against processes: N workers made, and N tasks of
  // 100 ms of waiting run on them. Threads start one after another on the main thread;
  // processes start side by side, each on a CPU of its own while it starts.
  "startup:scale": () => {
    const wait = () => new Promise((resolve) => setTimeout(resolve, 100));
    const contenders: Record<string, () => Promise<unknown>> = {};
    for (const n of [2, 4, 8, 16]) {
      const items = Array.from({ length: n }, (_, i) => i);
      for (const isolation of ["thread", "process"] as const) {
        contenders[`${n} ${isolation === "thread" ? "threads" : "processes"}`] = async () => {
          await using pool = new Pool({ workers: n, isolation });
          await pool.map(wait, items, { chunkSize: 1 });
        };
      }
    }
    return compare(contenders).then((medians) =>
      report("N workers made, N tasks of 100 ms run on them", medians, "ms", 1000)
    );
  },

  // The whole seed program as a process: `deno run pool.ts` against Python's.
  async process() {
    const run = async (command: string, args: string[]) => {
      const output = await new Deno.Command(command, { args, stdout: "null" }).output();
      if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
    };
    const poolTs = new URL("../pool.ts", import.meta.url).pathname;
    const script = new URL("./python_pool.py", import.meta.url).pathname;
    const medians = await compare({
      "deno run pool.ts": () => run("deno", ["run", poolTs]),
      ...(python ? { "python3 seed program": () => run("python3", [script, "seed"]) } : {}),
    });
    report("whole process, the seed's pool demo", medians, "ms", 1000);
  },

  // The cluster (lib/cluster/) against the local pool and the plain loop: a NATS JetStream
  // server and node processes on this machine, started for the comparison and kept for all of
  // its rounds. Skipped where nats-server is missing.

  // 100,000 tiny items with the default chunk size.
  async "cluster:tiny"() {
    const N = 100_000;
    const items = Array.from({ length: N }, (_, i) => i);
    await using stack = new AsyncDisposableStack();
    const [one, two] = await clusterPools(stack, LAYOUTS);
    const pool = await startedPool({ workers: 2 });
    stack.defer(() => pool.terminate());
    await pool.map(square, [1]);
    const medians = await compare({
      "plain loop (main thread)": () => {
        const out = new Array(N);
        for (let i = 0; i < N; i++) out[i] = square(items[i]);
        return Promise.resolve(out);
      },
      "Pool.map, 1 process × 2 workers": () => pool.map(square, items),
      [`ClusterPool.map, ${layout(1, 2)}`]: onStartedNodes(one, 2, () => one.map(square, items)),
      [`ClusterPool.map, ${layout(2, 1)}`]: onStartedNodes(two, 2, () => two.map(square, items)),
    });
    report("cluster: map(square, 1e5 numbers)", medians, "ns/item", N / 1000);
  },

  // CPU-bound: the job of the cpu comparison, 64 items of about 15 ms, a chunk each.
  async "cluster:cpu"() {
    const items = Array.from({ length: 64 }, () => ITEM);
    await using stack = new AsyncDisposableStack();
    const [one, two] = await clusterPools(stack, LAYOUTS);
    const job = (pool: ClusterPool) =>
      onStartedNodes(pool, 2, () => pool.map(spin, items, { chunkSize: 1 }));
    const medians = await compare({
      "plain loop: items.map(spin) (main thread)": () => Promise.resolve(items.map(spin)),
      "Pool.map, 1 process × 2 workers, started": () => timedOnStartedPool(2, items),
      [`ClusterPool.map, ${layout(1, 2)}`]: job(one),
      [`ClusterPool.map, ${layout(2, 1)}`]: job(two),
    });
    report("cluster: 64 x spin(12), about 1 s of work", medians, "ms/job", 1000);
  },

  // Latency: one awaited apply at a time, on the cluster and on a local pool.
  async "cluster:apply"() {
    const N = 200;
    await using stack = new AsyncDisposableStack();
    const [remote] = await clusterPools(stack, [LAYOUTS[0]]);
    const pool = await startedPool({ workers: 2 });
    stack.defer(() => pool.terminate());
    await pool.apply(square, [1]);
    const medians = await compare({
      "Pool.apply, awaited, 1 process × 2 workers": async () => {
        for (let i = 0; i < N; i++) await pool.apply(square, [i]);
      },
      [`ClusterPool.apply, awaited, ${layout(1, 2)}`]: onStartedNodes(remote, 2, async () => {
        for (let i = 0; i < N; i++) await remote.apply(square, [i]);
      }),
    });
    report("cluster: one awaited call", medians, "µs/call", N);
  },

  // Recovery: two nodes of 1 worker with a known lease each hold one of a call's two chunks
  // (tasks held at a Gate), one is SIGKILLed, and its chunk must lapse and run on the other.
  async "cluster:recovery"() {
    await using stack = new AsyncDisposableStack();
    const spec = {
      workers: 1,
      stream: "BENCH_RECOVERY",
      leaseMs: LEASE_MS,
      flags: ["--allow-source", "--task-net", "127.0.0.1"],
    };
    const cluster = stack.use(await startCluster());
    const gate = new Gate();
    stack.defer(() => gate.close());
    // The node that survives every round; the one killed is started afresh before each.
    await cluster.startNode(spec);
    const pool = await ClusterPool.connect({
      servers: cluster.url,
      stream: spec.stream,
      parallelism: 2,
      name: "bench",
    });
    stack.defer(() => pool.terminate());
    const restarts: number[] = [];
    const measured = "SIGKILL → the chunk's result at the caller";
    const medians = await compare({
      [measured]: async () => {
        const victim = await cluster.startNode(spec);
        gate.reset();
        // A node of 1 worker holds one chunk at a time: each node takes one.
        const call = pool.map(heldTask, [gate.port, gate.port], { chunkSize: 1 });
        await Promise.race([gate.arrived(2, CLUSTER_WAIT_MS), call]);
        const killed = performance.now();
        await cluster.kill(victim);
        // The survivor's own chunk ends now; the victim's runs again once its lease lapses.
        gate.release();
        const results = await inTime(call, "the killed node's chunk coming back");
        const done = performance.now();
        if (gate.arrivals.length !== 3 || results.join() !== `${gate.port},${gate.port}`) {
          throw new Error(
            `expected the killed node's chunk to run again once, saw ${gate.arrivals.length} ` +
              `starts and results ${JSON.stringify(results)}`,
          );
        }
        restarts.push(gate.arrivals[2] - killed);
        return done - killed;
      },
    });
    report(
      `cluster: a node SIGKILLed holding a chunk, ${layout(2, 1)}`,
      new Map([
        [`the lease: --lease ${LEASE_MS} (set, not measured)`, LEASE_MS],
        // The last entries are the timed rounds; the untimed warm-up ran first.
        ["SIGKILL → the chunk starts again on the other node", median(restarts.slice(-rounds))],
        [measured, medians.get(measured) ?? NaN],
      ]),
      "ms",
      1000,
    );
  },
};

const USAGE = `Usage: deno task bench [--rounds N] [--only NAME[,NAME...]]

Runs each comparison in a fresh Deno process, its contenders in turn for N
rounds (default 5), prints medians and ratios, and writes the figures to
bench/results/latest.json. Exit code 1 if a comparison failed.

Comparisons (a name before the colon picks the group, as in --only map):
${wrap(Object.keys(comparisons).join(", "), 78, "  ")}

The cluster comparisons start a nats-server and node processes of their own;
where nats-server is not installed they are skipped, with a note.`;

/** `text` broken at spaces into lines of at most `width` characters, each after `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines = [indent];
  for (const word of text.split(" ")) {
    const line = lines.length - 1;
    if (lines[line].length > indent.length && lines[line].length + 1 + word.length > width) {
      lines.push(indent + word);
    } else {
      lines[line] += (lines[line].length > indent.length ? " " : "") + word;
    }
  }
  return lines.join("\n");
}

/** Runs the named comparisons, each in a process of its own, and writes the results. */
async function main(args: string[], io: Io): Promise<number> {
  const { values } = parseFlags(args, {
    rounds: { type: "string" },
    only: { type: "string" },
    comparison: { type: "string" },
    store: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  rounds = integerFlag("rounds", values.rounds, 5, { min: 1, max: 1000 });
  if (typeof values.store === "string") store = values.store;
  if (typeof values.comparison === "string") return await measure(values.comparison, io);

  let names = selected(values.only);
  const cluster = names.filter(isClusterComparison);
  const missing = cluster.length > 0 ? await natsServerMissing() : undefined;
  if (missing !== undefined) {
    notes.push(skippedNote(missing, cluster));
    names = names.filter((name) => !isClusterComparison(name));
  }
  io.out(
    `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${rounds} round${
      rounds === 1 ? "" : "s"
    }, ` +
      `medians, each comparison in a fresh process\n`,
  );
  for (const note of notes) io.out(`note: ${note}\n`);
  let failed = false;
  // Ctrl-C or SIGTERM: end the running comparison (a cluster one stops its server and nodes
  // first), start no other, and write no partial results.
  const stopListening = onInterrupt((signal) => interrupt.abort(signal));
  try {
    for (const [i, name] of names.entries()) {
      if (interrupt.signal.aborted) break;
      // On a terminal, say what is running: a comparison takes up to a minute.
      const status = `running ${name} (${i + 1} of ${names.length})...`;
      if (io.errIsTerminal) io.errRaw(status);
      let measured: Row[] | Error;
      try {
        measured = await inChild(name);
      } catch (error) {
        measured = error instanceof Error ? error : new Error(String(error));
      }
      if (io.errIsTerminal) io.errRaw(`\r${" ".repeat(status.length)}\r`);
      if (interrupt.signal.aborted) break;
      if (measured instanceof Error) {
        // One broken comparison (a missing program, a refused subprocess) must
        // not throw away the figures of the others.
        failed = true;
        notes.push(`${name} failed: ${measured.message}`);
        io.out(`${name} failed: ${measured.message}`);
        continue;
      }
      rows.push(...measured);
      print(measured, io);
    }
  } finally {
    stopListening();
  }
  if (interrupt.signal.aborted) {
    const signal: Interrupt = interrupt.signal.reason;
    io.err(`interrupted (${signal}): no results written`);
    return EXIT_CODES[signal];
  }
  await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
  await Deno.writeTextFile(
    new URL("./results/latest.json", import.meta.url),
    JSON.stringify(
      { deno: Deno.version.deno, cores: navigator.hardwareConcurrency, rounds, notes, rows },
      null,
      2,
    ) + "\n",
  );
  return failed ? 1 : 0;
}

/** Aborted, with the signal as its reason, on Ctrl-C or SIGTERM: ends the running comparison. */
const interrupt = new AbortController();

/** The comparisons `--only` names, in their order; all of them without it. */
function selected(only: string | boolean | undefined): string[] {
  const names = Object.keys(comparisons);
  if (typeof only !== "string") return names;
  const wanted = only.split(",");
  for (const want of wanted) {
    if (!names.some((name) => name === want || name.startsWith(`${want}:`))) {
      throw new UsageError(`--only: no comparison named ${JSON.stringify(want)}`);
    }
  }
  return names.filter((name) =>
    wanted.some((want) => name === want || name.startsWith(`${want}:`))
  );
}

/**
 * Runs one comparison in a fresh Deno process, so that no comparison runs in
 * a heap, a JIT state or worker threads that another one left behind.
 */
async function inChild(name: string): Promise<Row[]> {
  // A cluster comparison's process may write its server's store, and nothing else.
  const clusterStore = isClusterComparison(name) ? storePath(tempRoot()) : "";
  const late = AbortSignal.timeout(COMPARISON_LIMIT_MS);
  const output = await new Deno.Command("deno", {
    args: [
      "run",
      ...comparisonFlags(name, { execPath: Deno.execPath(), store: clusterStore }),
      new URL(import.meta.url).pathname,
      "--comparison",
      name,
      "--rounds",
      String(rounds),
      ...(clusterStore ? ["--store", clusterStore] : []),
    ],
    cwd: new URL("..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
    // Either sends it SIGTERM, on which a cluster comparison ends its processes first.
    signal: AbortSignal.any([late, interrupt.signal]),
  }).output();
  const decoder = new TextDecoder();
  if (late.aborted) {
    throw new Error(`ended after ${COMPARISON_LIMIT_MS / 60_000} minutes without a result`);
  }
  if (!output.success) {
    const said = decoder.decode(output.stderr).trim().split("\n").at(-1);
    throw new Error(said || `its process ended with code ${output.code}`);
  }
  const last = decoder.decode(output.stdout).trim().split("\n").at(-1) ?? "";
  return JSON.parse(last);
}

/**
 * The system's folder for temporary files: `$TMPDIR` where the bench may read
 * it (`deno task bench` may), else `/tmp`.
 */
function tempRoot(): string {
  const allowed = Deno.permissions.querySync({ name: "env", variable: "TMPDIR" }).state;
  return (allowed === "granted" ? Deno.env.get("TMPDIR") : undefined) || "/tmp";
}

/** Runs one comparison in this process and prints its rows as JSON, for `inChild`. */
async function measure(name: string, io: Io): Promise<number> {
  const comparison = comparisons[name];
  if (comparison === undefined) throw new UsageError(`no comparison named ${JSON.stringify(name)}`);
  try {
    await comparison();
  } catch (error) {
    io.err(error instanceof Error ? error.message : String(error));
    return 1;
  }
  io.out(JSON.stringify(rows));
  return 0;
}

Deno.exitCode = await runScript(main, Deno.args);
