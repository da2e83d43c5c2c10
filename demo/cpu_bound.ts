/**
 * CPU-bound work, run two ways: as async tasks taking turns on one event
 * loop, and as a job for a pool's workers. The Deno counterpart of why
 * Python's threads do not speed up CPU work: `await` lets tasks interleave,
 * but only workers let them run at the same time.
 *
 * @module
 */

import { setTimeout as delay } from "node:timers/promises";
import { Recorder } from "../lib/recorder.ts";

/**
 * A CPU-bound job: `steps` steps of `units` million integer operations.
 * Returns a checksum so the work cannot be optimised away. Self-contained, so
 * a pool can run it in a worker.
 *
 * @example
 * ```ts
 * import { cpuTask } from "./cpu_bound.ts";
 * import assert from "node:assert/strict";
 *
 * // Two steps from seed 1 equal one step, then one more from its result.
 * assert.equal(cpuTask(2, 0.001), cpuTask(1, 0.001, cpuTask(1, 0.001)));
 * ```
 */
export function cpuTask(steps: number, units: number, seed = 1): number {
  let state = seed | 0;
  const iterations = Math.round(units * 1_000_000);
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < iterations; i++) state = (Math.imul(state, 1103515245) + 12345) | 0;
  }
  return state;
}

/** Options for {@linkcode takeTurns}. */
export interface TakeTurnsOptions {
  /** One task per name. */
  readonly names: readonly string[];
  /** Steps each task runs. */
  readonly steps: number;
  /** Millions of operations per step. */
  readonly units: number;
  /** When given, each step (running) and each wait for its turn (waiting) is recorded on the task's row. */
  readonly recorder?: Recorder;
  /** Aborting stops every task before its next step and rejects with the reason. */
  readonly signal?: AbortSignal;
}

/**
 * Runs one {@linkcode cpuTask} per name as async tasks on this thread, each
 * yielding to the event loop after every step. The tasks interleave, but only
 * one runs at a time: the whole takes the sum of all the steps. Resolves with
 * each task's checksum, the same values `cpuTask(steps, units)` returns.
 *
 * @example
 * ```ts
 * import { cpuTask, takeTurns } from "./cpu_bound.ts";
 * import assert from "node:assert/strict";
 *
 * const sums = await takeTurns({ names: ["A", "B"], steps: 3, units: 0.01 });
 * assert.deepEqual(sums, [cpuTask(3, 0.01), cpuTask(3, 0.01)]);
 * ```
 */
export function takeTurns(options: TakeTurnsOptions): Promise<number[]> {
  const { steps, units, recorder, signal } = options;
  return Promise.all(options.names.map(async (name) => {
    let state = 1;
    let waitingSince = Recorder.now();
    for (let step = 1; step <= steps; step++) {
      signal?.throwIfAborted();
      const start = Recorder.now();
      if (step > 1) recorder?.record(name, waitingSince, start, "", "wait");
      state = cpuTask(1, units, state);
      waitingSince = Recorder.now();
      recorder?.record(name, start, waitingSince, `${step}`, "run");
      // Give the other tasks their turn.
      await delay(0, undefined, { signal });
    }
    return state;
  }));
}
