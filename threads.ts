/**
 * Concurrency: async tasks that take turns on one thread.
 *
 * The Deno counterpart of the seed's `threading` demo: three tasks named
 * Thread-1..Thread-3 each print 1..5 with a one-second pause, interleaved.
 * The pauses are timers, so the run takes about 5 s, not 15 s.
 *
 * With `--cpu`, the lesson of Python's GIL: the same CPU-bound job run as
 * async tasks on one event loop and as Web Workers, timed side by side.
 *
 *     deno run threads.ts [--threads N] [--count N] [--interval MS] [--timeline] [--json]
 *     deno run threads.ts --cpu [--threads N] [--count N] [--work N] [--timeline] [--json]
 *
 * @module
 */

import {
  chartStyle,
  exclusiveFlags,
  integerFlag,
  type Io,
  parseFlags,
  roundMs,
  runScript,
  UsageError,
} from "./demo/cli.ts";
import { cpuTask, takeTurns } from "./demo/cpu_bound.ts";
import { countConcurrently } from "./demo/interleave.ts";
import { Pool, Recorder } from "./lib/mod.ts";
import { formatMs, renderTimeline } from "./demo/timeline.ts";

const HELP = `Concurrency: async tasks taking turns on one thread.

Usage: deno run threads.ts [options]

Each task prints 1..COUNT, pausing INTERVAL ms after each number. While one
task waits, the others run, so the lines interleave round by round.

With --cpu, each task instead runs COUNT steps of CPU-bound work, first as
async tasks on one event loop, then as Web Workers, and the two wall times
are compared: awaiting lets tasks take turns, only workers run at once.

Options:
  --threads N     number of tasks (default 3)
  --count N       each task counts from 1 to N, or runs N steps (default 5)
  --interval MS   pause after each number, in ms (default 1000)
  --cpu           run the CPU-bound comparison instead
  --work N        with --cpu: millions of operations per step (default 20)
  --timeline      after the run, chart when each task ran and waited
  --json          print the results and timings as one JSON document
  -h, --help      show this help

Examples:
  deno run threads.ts --timeline
  deno run threads.ts --cpu --timeline`;

const FLAGS = {
  threads: { type: "string" },
  count: { type: "string" },
  interval: { type: "string" },
  cpu: { type: "boolean" },
  work: { type: "string" },
  timeline: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs the demo with command-line `args`, writing to `io`; resolves with the exit code. */
export async function main(args: string[], io: Io): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  exclusiveFlags(values, "json", "timeline");
  exclusiveFlags(values, "cpu", "interval");
  const threads = integerFlag("threads", values.threads, 3, { min: 1, max: 1000 });
  const count = integerFlag("count", values.count, 5, { min: 1, max: 1_000_000 });
  const names = Array.from({ length: threads }, (_, i) => `Thread-${i + 1}`);
  if (values.cpu) {
    const work = integerFlag("work", values.work, 20, { min: 1, max: 10_000 });
    await cpuLesson(
      { names, steps: count, work, timeline: !!values.timeline, json: !!values.json },
      io,
    );
    return 0;
  }
  if (values.work !== undefined) throw new UsageError("--work is for --cpu runs only");
  const interval = integerFlag("interval", values.interval, 1000, { min: 0, max: 3_600_000 });
  const recorder = values.timeline || values.json ? new Recorder() : undefined;
  const lines: string[] = [];
  const say = (line: string) => values.json ? lines.push(line) : io.out(line);
  await countConcurrently({
    names,
    count,
    interval,
    recorder,
    onStep: (name, n) => say(`Thread ${name}: ${n}`),
  });
  say("All threads have finished.");
  if (values.json && recorder) {
    io.out(JSON.stringify({ script: "threads", threads, count, interval, lines, spans: recorder }));
  } else if (recorder) {
    io.out("");
    io.out(renderTimeline(recorder.spans, { rows: names, from: 0, style: chartStyle(io) }));
  }
  return 0;
}

interface LessonOptions {
  readonly names: string[];
  readonly steps: number;
  readonly work: number;
  readonly timeline: boolean;
  readonly json: boolean;
}

/** Runs the CPU-bound job on the event loop, then on workers, and reports both. */
async function cpuLesson(options: LessonOptions, io: Io): Promise<void> {
  const { names, steps, work } = options;
  const cores = navigator.hardwareConcurrency;
  if (!options.json) {
    io.out(
      `CPU-bound work: ${names.length} tasks × ${steps} steps of ${work}M operations, ${cores} cores`,
    );
  }

  const onLoop = new Recorder();
  let start = performance.now();
  const loopSums = await takeTurns({ names, steps, units: work, recorder: onLoop });
  const loopMs = performance.now() - start;

  // Pool start-up is part of the workers' time: a fair race.
  const onWorkers = new Recorder();
  start = performance.now();
  let workerSums: number[];
  {
    await using pool = new Pool({ workers: names.length, recorder: onWorkers });
    workerSums = await pool.starmap(cpuTask, names.map(() => [steps, work]), { chunkSize: 1 });
  }
  const workersMs = performance.now() - start;
  if (workerSums.some((sum, i) => sum !== loopSums[i])) {
    throw new Error("the workers' checksums differ from the event loop's");
  }

  const speedup = loopMs / workersMs;
  if (options.json) {
    io.out(JSON.stringify({
      script: "threads",
      mode: "cpu",
      cores,
      tasks: names.length,
      steps,
      work,
      checksums: loopSums,
      eventLoopMs: roundMs(loopMs),
      workersMs: roundMs(workersMs),
      speedup: roundMs(speedup),
      spans: { eventLoop: onLoop, workers: onWorkers },
    }));
    return;
  }
  io.out(`  async tasks on one event loop: ${formatMs(loopMs).padStart(8)}  (they take turns)`);
  io.out(
    `  ${`Web Workers, a pool of ${names.length}:`.padEnd(30)} ${
      formatMs(workersMs).padStart(8)
    }  (they run at once, start-up included)`,
  );
  io.out(`  speedup: ${speedup.toFixed(2)}×`);
  if (options.timeline) {
    // One scale for both charts, so their lengths compare.
    const duration = Math.max(loopMs, workersMs);
    const style = chartStyle(io);
    io.out("");
    io.out("Async tasks on one event loop:");
    io.out(renderTimeline(onLoop.spans, { rows: names, from: 0, duration, style }));
    io.out("");
    io.out(`Web Workers (one row per worker):`);
    io.out(renderTimeline(onWorkers.spans, { from: 0, duration, style }));
  }
}

if (import.meta.main) Deno.exitCode = await runScript(main, Deno.args);
