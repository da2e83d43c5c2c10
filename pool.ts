/**
 * Parallelism: a map over a pool of Web Workers.
 *
 * The Deno counterpart of the seed's `multiprocessing` demo: a pool of 3
 * workers squares [1, 2, 3, 4, 5]. `square` is an ordinary function written
 * here; the pool ships its source to the workers, which run it in parallel.
 *
 *     deno run pool.ts [numbers...] [--workers N] [--range N] [--chunk-size N] [--work N]
 *                      [--timeline | --json] [--quiet] [--cluster URL]
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
import { Pool, Recorder, type TaskPool } from "./lib/mod.ts";
import { ProgressBar } from "./demo/progress.ts";
import { formatMs, renderTimeline } from "./demo/timeline.ts";

/** Squares a number. Runs inside the workers. */
export function square(number: number): number {
  return number * number;
}

/**
 * Squares a number after `work` thousand operations of busy CPU work, to make
 * a job long enough to watch. Runs inside the workers.
 */
export function squareAfterWork(number: number, work: number): number {
  let state = number | 0;
  for (let i = 0; i < work * 1000; i++) state = (Math.imul(state, 1103515245) + 12345) | 0;
  // An int32 is never 0.5; the test keeps the loop from being optimised away.
  return state === 0.5 ? NaN : number * number;
}

const HELP = `Parallelism: square numbers on a pool of Web Workers.

Usage: deno run pool.ts [options] [numbers...]

Squares the numbers given (default 1 2 3 4 5) with a pool of workers, each
on its own thread, and prints the input and the results in input order.

Options:
  --workers N      number of workers (default 3, as in the seed)
  --range N        square 1..N instead of the numbers given
  --chunk-size N   numbers sent to a worker at a time (default: n / (4 * workers))
  --work N         busy work per number, in thousands of operations (default 0)
  --timeline       after the run, chart when each worker was busy
  --json           print the numbers, results and timings as one JSON document
  --quiet          no progress bar (it shows only when stderr is a terminal)
  --cluster URL    run on the nodes of a NATS JetStream cluster instead
                   (see "Beyond one machine" in README.md); --workers then
                   sets the default chunk size only
  -h, --help       show this help

Examples:
  deno run pool.ts 7 8 9
  deno run pool.ts --range 1000000 --workers 2
  deno run pool.ts --range 1000000 --work 20 --timeline
  deno run --allow-net=127.0.0.1:4222 --allow-read=. pool.ts --cluster nats://127.0.0.1:4222`;

const FLAGS = {
  workers: { type: "string" },
  range: { type: "string" },
  "chunk-size": { type: "string" },
  work: { type: "string" },
  timeline: { type: "boolean" },
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  cluster: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** What `pool.ts` uses of `lib/cluster/mod.ts`. */
interface ClusterModule {
  readonly ClusterPool: {
    connect(options: {
      servers: string;
      parallelism: number;
      recorder: Recorder | undefined;
    }): Promise<TaskPool>;
  };
}

/**
 * A pool on the cluster at `url`. The cluster module is loaded only here,
 * by a URL computed at run time, so that `pool.ts` without `--cluster`
 * loads no third-party code (the NATS client).
 */
async function clusterPool(
  url: string,
  options: { parallelism: number; recorder: Recorder | undefined },
): Promise<TaskPool> {
  const where = new URL("./lib/cluster/mod.ts", import.meta.url).href;
  // Typed here, not with `typeof import(...)`, which would put the NATS client in this script's graph.
  const cluster: ClusterModule = await import(where);
  try {
    return await cluster.ClusterPool.connect({ servers: url, ...options });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new UsageError(`cannot use the cluster at ${JSON.stringify(url)}: ${reason}`);
  }
}

/** Longest list printed in full; longer ones show their ends. */
const SHOWN = 20;

/** Formats a list as Python prints one, eliding the middle of long lists. */
export function formatList(values: readonly number[]): string {
  if (values.length <= SHOWN) return `[${values.join(", ")}]`;
  const head = values.slice(0, SHOWN / 2).join(", ");
  const tail = values.slice(-3).join(", ");
  return `[${head}, ..., ${tail}] (${values.length.toLocaleString("en-US")} numbers)`;
}

function parseNumbers(words: string[]): number[] {
  return words.map((word) => {
    const value = word.trim() === "" ? NaN : Number(word);
    if (!Number.isFinite(value)) {
      throw new UsageError(`${JSON.stringify(word)} is not a number`);
    }
    return value;
  });
}

/** Runs the demo with command-line `args`, writing to `io`; resolves with the exit code. */
export async function main(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(args, FLAGS, true);
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  exclusiveFlags(values, "json", "timeline");
  const workers = integerFlag("workers", values.workers, 3, { min: 1, max: 256 });
  const range = integerFlag("range", values.range, 0, { min: 1, max: 100_000_000 });
  const chunkSize = values["chunk-size"] === undefined
    ? undefined
    : integerFlag("chunk-size", values["chunk-size"], 1, { min: 1 });
  const work = integerFlag("work", values.work, 0, { min: 0, max: 1_000_000 });
  if (range > 0 && positionals.length > 0) {
    throw new UsageError("give either numbers or --range, not both");
  }
  const numbers = range > 0
    ? Array.from({ length: range }, (_, i) => i + 1)
    : positionals.length > 0
    ? parseNumbers(positionals)
    : [1, 2, 3, 4, 5];

  const recorder = values.timeline || values.json ? new Recorder() : undefined;
  const bar = io.errIsTerminal && !values.quiet
    ? new ProgressBar({ total: numbers.length, write: io.errRaw })
    : undefined;
  const options = { chunkSize, onProgress: bar && ((done: number) => bar.update(done)) };
  const start = performance.now();
  let squared: number[];
  {
    await using pool = typeof values.cluster === "string"
      ? await clusterPool(values.cluster, { parallelism: workers, recorder })
      : new Pool({ workers, recorder });
    squared = work === 0
      ? await pool.map(square, numbers, options)
      : await pool.starmap(squareAfterWork, numbers.map((n) => [n, work]), options);
  }
  const wallMs = performance.now() - start;
  bar?.finish();

  if (values.json) {
    io.out(JSON.stringify({
      script: "pool",
      workers,
      chunkSize: chunkSize ?? null,
      work,
      numbers,
      squared,
      wallMs: roundMs(wallMs),
      spans: recorder,
    }));
    return 0;
  }
  io.out(`Original numbers: ${formatList(numbers)}`);
  io.out(`Squared numbers: ${formatList(squared)}`);
  if (recorder) {
    io.out("");
    io.out(
      `${numbers.length.toLocaleString("en-US")} numbers on ${
        typeof values.cluster === "string" ? "the cluster's nodes" : `${workers} workers`
      } in ${formatMs(wallMs)}, pool start-up included:`,
    );
    io.out(renderTimeline(recorder.spans, { from: 0, style: chartStyle(io) }));
  }
  return 0;
}

if (import.meta.main) Deno.exitCode = await runScript(main, Deno.args);
