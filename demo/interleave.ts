/**
 * Concurrency without threads: several async tasks on one event loop, each
 * counting with a pause between numbers, their steps interleaved. The
 * counterpart of the seed's three threads that print 1..5.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import { Recorder } from "../lib/recorder.ts";

/** Options for {@linkcode countConcurrently}. */
export interface CountOptions {
  /** Names of the tasks, one per task: `["Thread-1", "Thread-2"]`. */
  readonly names: readonly string[];
  /** Each task counts from 1 to `count`. */
  readonly count: number;
  /** Pause after each number, in ms. The pause is a timer, not a busy wait. */
  readonly interval: number;
  /** Called for each number a task reaches. */
  readonly onStep: (name: string, n: number) => void;
  /** When given, each step (running) and each pause (waiting) is recorded on the task's row. */
  readonly recorder?: Recorder;
  /** Aborting stops every task at its next pause and rejects with the reason. */
  readonly signal?: AbortSignal;
}

/**
 * Runs one counting task per name, all at once on this thread. Each prints a
 * number, then waits `interval` ms; while it waits the others run, so the
 * output interleaves round by round and the whole run takes about
 * `count * interval` ms, not `names.length` times that.
 *
 * @example
 * ```ts
 * import { countConcurrently } from "./interleave.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * await countConcurrently({
 *   names: ["A", "B"],
 *   count: 2,
 *   interval: 5,
 *   onStep: (name, n) => lines.push(`${name}: ${n}`),
 * });
 * assert.deepEqual(lines, ["A: 1", "B: 1", "A: 2", "B: 2"]);
 * ```
 */
export async function countConcurrently(options: CountOptions): Promise<void> {
  const { count, interval, onStep, recorder, signal } = options;
  signal?.throwIfAborted();
  await Promise.all(options.names.map(async (name) => {
    for (let n = 1; n <= count; n++) {
      const start = Recorder.now();
      onStep(name, n);
      const ran = Recorder.now();
      recorder?.record(name, start, ran, `${n}`, "run");
      await delay(interval, undefined, { signal });
      recorder?.record(name, ran, Recorder.now(), "", "wait");
    }
  }));
}
