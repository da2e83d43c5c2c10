/**
 * Parallelism: a map over a pool of Web Workers.
 *
 * The Deno counterpart of the seed's `multiprocessing` demo: a pool of 3
 * workers squares [1, 2, 3, 4, 5]. `square` is an ordinary function written
 * here; the pool ships its source to the workers, which run it in parallel.
 *
 *     deno run pool.ts [numbers...] [--workers N] [--range N] [--chunk-size N]
 *
 * @module
 */

import { integerFlag, type Io, parseFlags, runScript, UsageError } from "./lib/cli.ts";
import { Pool } from "./lib/mod.ts";

/** Squares a number. Runs inside the workers. */
export function square(number: number): number {
  return number * number;
}

const HELP = `Parallelism: square numbers on a pool of Web Workers.

Usage: deno run pool.ts [options] [numbers...]

Squares the numbers given (default 1 2 3 4 5) with a pool of workers, each
on its own thread, and prints the input and the results in input order.

Options:
  --workers N      number of workers (default 3, as in the seed)
  --range N        square 1..N instead of the numbers given
  --chunk-size N   numbers sent to a worker at a time (default: n / (4 * workers))
  -h, --help       show this help

Example:
  deno run pool.ts 7 8 9
  deno run pool.ts --range 1000000 --workers 2`;

const FLAGS = {
  workers: { type: "string" },
  range: { type: "string" },
  "chunk-size": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

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
  const workers = integerFlag("workers", values.workers, 3, { min: 1, max: 256 });
  const range = integerFlag("range", values.range, 0, { min: 1, max: 100_000_000 });
  const chunkSize = values["chunk-size"] === undefined
    ? undefined
    : integerFlag("chunk-size", values["chunk-size"], 1, { min: 1 });
  if (range > 0 && positionals.length > 0) {
    throw new UsageError("give either numbers or --range, not both");
  }
  const numbers = range > 0
    ? Array.from({ length: range }, (_, i) => i + 1)
    : positionals.length > 0
    ? parseNumbers(positionals)
    : [1, 2, 3, 4, 5];
  await using pool = new Pool({ workers });
  const squared = await pool.map(square, numbers, { chunkSize });
  io.out(`Original numbers: ${formatList(numbers)}`);
  io.out(`Squared numbers: ${formatList(squared)}`);
  return 0;
}

if (import.meta.main) Deno.exitCode = await runScript(main, Deno.args);
