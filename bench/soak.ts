/**
 * Soak: pushes two million tasks or more through `Pool.imap` from a generator
 * and samples memory along the way. Memory at the end must stay within a
 * stated margin of the middle: a pool that leaked per task would grow
 * steadily.
 *
 *     deno task soak [--tasks N] [--workers N] [--chunk-size N]
 *
 * Workers default to the core count, and tasks to 200,000 a worker (at least
 * two million): each worker's isolate grows its heap while it warms up, and
 * with a million tasks over 16 workers that warm-up was not over by the
 * middle sample (RSS +23 MiB from the middle to the end; with 3 million, +1 MiB).
 *
 * @module
 */

import { integerFlag, type Io, parseFlags, runScript } from "../demo/cli.ts";
import { Pool } from "../lib/mod.ts";

const MiB = 1024 * 1024;
/** Allowed growth from the middle sample to the end, in MiB, for heap and for RSS. */
const MARGIN_MIB = 16;

const USAGE = `Usage: deno task soak [--tasks N] [--workers N] [--chunk-size N]

Pushes N tasks (default 200,000 a worker, at least 2,000,000) through
Pool.imap from a generator on --workers workers (default: the core count)
and samples memory ten times, printing each sample as it is taken. Exit code
1 if heap or RSS grows more than ${MARGIN_MIB} MiB from the middle sample to the end.`;

interface Sample {
  readonly at: string;
  readonly done: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
function sample(at: string, done: number): Sample {
  gc?.();
  const memory = Deno.memoryUsage();
  return { at, done, rssMiB: memory.rss / MiB, heapMiB: memory.heapUsed / MiB };
}

function* numbers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

function sampleLine(s: Sample): string {
  return `${s.at.padEnd(10)} ${s.done.toLocaleString("en-US").padStart(11)} ${
    s.rssMiB.toFixed(1).padStart(9)
  } ${s.heapMiB.toFixed(1).padStart(10)}`;
}

const signed = (mib: number) => `${mib >= 0 ? "+" : ""}${mib.toFixed(1)}`;

async function main(args: string[], io: Io): Promise<number> {
  const { values } = parseFlags(args, {
    tasks: { type: "string" },
    workers: { type: "string" },
    "chunk-size": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  const workers = integerFlag("workers", values.workers, navigator.hardwareConcurrency, {
    min: 1,
    max: 256,
  });
  const tasks = integerFlag("tasks", values.tasks, Math.max(2_000_000, 200_000 * workers), {
    min: 10,
    max: 1e9,
  });
  const chunkSize = integerFlag("chunk-size", values["chunk-size"], 1, { min: 1, max: 1e6 });

  io.out(
    `${tasks.toLocaleString("en-US")} tasks through imap, ${workers} workers, ` +
      `chunk size ${chunkSize}${gc ? ", gc before each sample" : ""}`,
  );
  io.out("sample      tasks done   rss MiB   heap MiB");
  const samples: Sample[] = [sample("start", 0)];
  io.out(sampleLine(samples[0]));
  const every = Math.max(1, Math.floor(tasks / 10));
  const started = performance.now();
  let done = 0;
  let sum = 0;
  {
    await using pool = new Pool({ workers });
    for await (const value of pool.imap((n: number) => n * 2, numbers(tasks), { chunkSize })) {
      if (value !== done * 2) throw new Error(`result ${done} is ${value}, expected ${done * 2}`);
      sum += value;
      done++;
      if (done % every === 0) {
        samples.push(sample(done === every * 5 ? "middle" : `${done / every}/10`, done));
        io.out(sampleLine(samples[samples.length - 1]));
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  samples.push(sample("end", done));
  io.out(sampleLine(samples[samples.length - 1]));

  const middle = samples.find((s) => s.at === "middle") ?? samples[samples.length >> 1];
  const end = samples[samples.length - 1];
  const heapGrowth = end.heapMiB - middle.heapMiB;
  const rssGrowth = end.rssMiB - middle.rssMiB;
  const ok = done === tasks && sum === tasks * (tasks - 1) && heapGrowth <= MARGIN_MIB &&
    rssGrowth <= MARGIN_MIB;
  io.out(
    `${seconds.toFixed(1)} s, ${(seconds * 1e6 / done).toFixed(2)} µs/task; middle to end: ` +
      `heap ${signed(heapGrowth)} MiB, rss ${signed(rssGrowth)} MiB ` +
      `(margin ${MARGIN_MIB} MiB each): ${ok ? "ok" : "FAILED"}`,
  );
  return ok ? 0 : 1;
}

Deno.exitCode = await runScript(main, Deno.args);
