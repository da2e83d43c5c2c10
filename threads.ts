/**
 * Concurrency: async tasks that take turns on one thread.
 *
 * The Deno counterpart of the seed's `threading` demo: three tasks named
 * Thread-1..Thread-3 each print 1..5 with a one-second pause, interleaved.
 * The pauses are timers, so the run takes about 5 s, not 15 s.
 *
 *     deno run threads.ts [--threads N] [--count N] [--interval MS]
 *
 * @module
 */

import { integerFlag, type Io, parseFlags, runScript } from "./lib/cli.ts";
import { countConcurrently } from "./lib/interleave.ts";

const HELP = `Concurrency: async tasks taking turns on one thread.

Usage: deno run threads.ts [options]

Each task prints 1..COUNT, pausing INTERVAL ms after each number. While one
task waits, the others run, so the lines interleave round by round.

Options:
  --threads N     number of tasks (default 3)
  --count N       each task counts from 1 to N (default 5)
  --interval MS   pause after each number, in ms (default 1000)
  -h, --help      show this help`;

const FLAGS = {
  threads: { type: "string" },
  count: { type: "string" },
  interval: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Runs the demo with command-line `args`, writing to `io`; resolves with the exit code. */
export async function main(args: string[], io: Io): Promise<number> {
  const { values } = parseFlags(args, FLAGS);
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const threads = integerFlag("threads", values.threads, 3, { min: 1, max: 1000 });
  const count = integerFlag("count", values.count, 5, { min: 1, max: 1_000_000 });
  const interval = integerFlag("interval", values.interval, 1000, { min: 0, max: 3_600_000 });
  const names = Array.from({ length: threads }, (_, i) => `Thread-${i + 1}`);
  await countConcurrently({
    names,
    count,
    interval,
    onStep: (name, n) => io.out(`Thread ${name}: ${n}`),
  });
  io.out("All threads have finished.");
  return 0;
}

if (import.meta.main) Deno.exitCode = await runScript(main, Deno.args);
