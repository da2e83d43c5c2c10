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

import { parseArgs } from "node:util";
import { Pool } from "../lib/mod.ts";

const MiB = 1024 * 1024;
/** Allowed growth from the middle sample to the end, in MiB, for heap and for RSS. */
const MARGIN_MIB = 16;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tasks: { type: "string" },
    workers: { type: "string", default: String(navigator.hardwareConcurrency) },
    "chunk-size": { type: "string", default: "1" },
  },
});
const workers = Number(values.workers);
const tasks = Number(values.tasks ?? Math.max(2_000_000, 200_000 * workers));
const chunkSize = Number(values["chunk-size"]);

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

const samples: Sample[] = [sample("start", 0)];
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
    }
  }
}
const seconds = (performance.now() - started) / 1000;
samples.push(sample("end", done));

const middle = samples.find((s) => s.at === "middle") ?? samples[Math.floor(samples.length / 2)];
const end = samples[samples.length - 1];
console.log(
  `${
    done.toLocaleString("en-US")
  } tasks through imap, ${workers} workers, chunk size ${chunkSize}: ` +
    `${seconds.toFixed(1)} s, ${(seconds * 1e6 / done).toFixed(2)} µs/task` +
    (gc ? ", gc before each sample" : ""),
);
console.log("sample      tasks done   rss MiB   heap MiB");
for (const s of samples) {
  console.log(
    `${s.at.padEnd(10)} ${s.done.toLocaleString("en-US").padStart(11)} ${
      s.rssMiB.toFixed(1).padStart(9)
    } ${s.heapMiB.toFixed(1).padStart(10)}`,
  );
}
const heapGrowth = end.heapMiB - middle.heapMiB;
const rssGrowth = end.rssMiB - middle.rssMiB;
const ok = done === tasks && sum === tasks * (tasks - 1) && heapGrowth <= MARGIN_MIB &&
  rssGrowth <= MARGIN_MIB;
console.log(
  `middle to end: heap ${heapGrowth >= 0 ? "+" : ""}${heapGrowth.toFixed(1)} MiB, rss ${
    rssGrowth >= 0 ? "+" : ""
  }${rssGrowth.toFixed(1)} MiB (margin ${MARGIN_MIB} MiB each): ${ok ? "ok" : "FAILED"}`,
);
if (!ok) Deno.exitCode = 1;
