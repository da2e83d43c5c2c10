/**
 * One chunk on a node: the items its caller's plan leaves to run, on the
 * node's local pool, each outcome reported as it comes, each crash of a
 * local worker counted toward the item's `maxCrashes`.
 *
 * @module
 */

import { type ModuleTask, type Pool, WorkerCrashedError } from "../mod.ts";
import { TaskError } from "../errors.ts";
import type { ErrorWriter } from "../_wire.ts";
import type { ChunkMessage, Crash, Outcome, Plan, Stretch } from "./_messages.ts";

/**
 * How long a finished item's outcome may wait to travel with others, and
 * about how long a part of a chunk runs (see `run`). A chunk that ends
 * sooner sends all its outcomes in one message; an item finished more than
 * about twice this before its node died has reached the caller, and is not
 * run again.
 */
export const PROGRESS_MS = 5;

/** What a run needs of its node. */
export interface RunHost {
  readonly pool: Pool;
  /** Local workers: a chunk is split so that each can take a part. */
  readonly workers: number;
  readonly writer: ErrorWriter;
  /** The node's name, for crash messages. */
  readonly name: string;
  /** Sends outcomes and crash counts to the caller now, without waiting for an answer. */
  report(outcomes: Outcome[], crashes: Crash[]): void;
}

/**
 * A task of the local pool: one that takes an item, one that takes an
 * argument list, and the same two returning `[worker, start, end, value]`,
 * for a timeline.
 */
export interface LocalTask {
  readonly single: ModuleTask<(item: unknown) => unknown>;
  readonly spread: ModuleTask<(args: unknown[]) => unknown>;
  readonly recordSingle: ModuleTask<(item: unknown) => unknown>;
  readonly recordSpread: ModuleTask<(args: unknown[]) => unknown>;
}

/** Runs the items of one chunk that its plan names. */
export class ChunkRun {
  #host: RunHost;
  #chunk: ChunkMessage;
  #task: LocalTask;
  #plan: Plan;
  #signal: AbortSignal;
  /** Values of the items that returned, by offset, and which did: sent again if the caller missed one. */
  #values: unknown[] = [];
  #returned: Uint8Array;
  /** Failures so far, by offset. */
  #failures = new Map<number, Outcome>();
  /** Offsets of values, and failures, not yet reported. */
  #unsentValues: number[] = [];
  #unsentFailures: Outcome[] = [];
  #crashes: Map<number, number>;
  #crashesChanged = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Which worker ran which items, when the chunk asked for a record. */
  readonly stretches: Stretch[] = [];
  /** The items the caller still lacks, as it last said; `null`: all of the plan. */
  #wanted: Set<number> | null = null;

  constructor(
    host: RunHost,
    chunk: ChunkMessage,
    task: LocalTask,
    { plan, signal }: { plan: Plan; signal: AbortSignal },
  ) {
    this.#host = host;
    this.#chunk = chunk;
    this.#task = task;
    this.#plan = plan;
    this.#signal = signal;
    this.#crashes = new Map(plan.crashes);
    this.#returned = new Uint8Array(chunk.items.length);
  }

  /**
   * Runs every item of the plan; resolves when each has an outcome or the
   * run was aborted. Two lanes per local worker take parts of the chunk in
   * turn (two, so that a worker finds the next part waiting); a part starts
   * as one item and grows while items are quick, up to a quarter of the
   * chunk's share of a worker, so that no finished item waits much longer
   * than {@linkcode PROGRESS_MS} for the rest of its part.
   */
  async run(): Promise<void> {
    const todo = this.#plan.todo.filter((offset) =>
      Number.isInteger(offset) && offset >= 0 && offset < this.#chunk.items.length
    );
    const largest = Math.max(1, Math.ceil(todo.length / (4 * this.#host.workers)));
    let next = 0;
    const lane = async () => {
      let size = 1;
      while (next < todo.length && !this.#signal.aborted) {
        const wanted = this.#wanted;
        const part = todo.slice(next, next += size)
          .filter((offset) => wanted === null || wanted.has(offset));
        if (part.length === 0) continue;
        const began = performance.now();
        await this.#runPart(part);
        const perItem = Math.max(0.001, (performance.now() - began) / part.length);
        size = Math.min(largest, Math.max(1, Math.floor(PROGRESS_MS / perItem)));
      }
    };
    const lanes = Math.min(todo.length, 2 * this.#host.workers);
    await Promise.all(Array.from({ length: lanes }, lane));
  }

  /**
   * The caller lacks only `todo` now (another node that held the chunk
   * finished the rest): the items not started yet that are not in it are
   * skipped. Those running finish.
   *
   * @param todo The offsets of the items the caller still lacks.
   */
  keepOnly(todo: readonly number[]): void {
    this.#wanted = new Set(todo);
  }

  /** Fails every item of the plan with `error`: the node will not run them. */
  refuse(error: unknown): void {
    for (const offset of this.#plan.todo) {
      this.#settle({
        offset,
        ok: false,
        kind: "refused",
        error: this.#host.writer.write(error),
        workerId: 0,
      });
    }
  }

  /** Takes the outcomes and crash counts not reported yet, for the chunk's last message. */
  takeUnsent(): { outcomes: Outcome[]; crashes: Crash[] } {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return { outcomes: this.#takeOutcomes(), crashes: this.#takeCrashes() };
  }

  /** The outcomes at `offsets`, for a caller that missed them. */
  outcomesAt(offsets: readonly number[]): Outcome[] {
    const failures: Outcome[] = [];
    const returned: number[] = [];
    for (const offset of offsets) {
      const failure = this.#failures.get(offset);
      if (failure !== undefined) failures.push(failure);
      else if (this.#returned[offset] === 1) returned.push(offset);
    }
    return [...failures, ...this.#runs(returned)];
  }

  /** Stops reporting: the chunk is done with. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #runPart(offsets: number[]): Promise<void> {
    if (offsets.length === 0 || this.#signal.aborted) return;
    const { spread, record } = this.#chunk;
    const task = record
      ? (spread ? this.#task.recordSpread : this.#task.recordSingle)
      : (spread ? this.#task.spread : this.#task.single);
    const items = offsets.map((offset) => this.#chunk.items[offset]);
    let settled: PromiseSettledResult<unknown>[];
    try {
      settled = await this.#host.pool.mapSettled(task, items as unknown[][], {
        signal: this.#signal,
        chunkSize: items.length,
      }) as PromiseSettledResult<unknown>[];
    } catch (error) {
      if (this.#signal.aborted) return;
      // The whole part failed (its items could not be sent to a worker, say):
      // each item fails with that error.
      for (const offset of offsets) this.#settle(this.#failure(offset, error));
      return;
    }
    const again: number[] = [];
    settled.forEach((outcome, i) => {
      const offset = offsets[i];
      if (outcome.status === "fulfilled") {
        this.#returnedValue(offset, record ? this.#stretch(offset, outcome.value) : outcome.value);
      } else if (outcome.reason instanceof WorkerCrashedError) {
        if (this.#crashed(offset)) again.push(offset);
        else this.#settle(this.#crashOutcome(offset, outcome.reason));
      } else {
        this.#settle(this.#failure(offset, outcome.reason));
      }
    });
    // An item that killed its worker is tried again alone, so that its
    // crashes are its own.
    await Promise.all(again.map((offset) => this.#runPart([offset])));
  }

  /** Notes which worker ran an item, and when; returns the item's value. */
  #stretch(offset: number, recorded: unknown): unknown {
    const [worker, start, end, value] = recorded as [string, number, number, unknown];
    const last = this.stretches[this.stretches.length - 1];
    if (last !== undefined && last[0] === worker && last[4] === offset - 1) {
      this.stretches[this.stretches.length - 1] = [worker, last[1], end, last[3], offset];
    } else {
      this.stretches.push([worker, start, end, offset, offset]);
    }
    return value;
  }

  /** Counts a crash of `offset`; whether it may be tried again. */
  #crashed(offset: number): boolean {
    const crashes = (this.#crashes.get(offset) ?? 0) + 1;
    this.#crashes.set(offset, crashes);
    this.#crashesChanged = true;
    this.#schedule();
    return crashes < this.#plan.maxCrashes;
  }

  #crashOutcome(offset: number, error: WorkerCrashedError): Outcome {
    const crashes = this.#crashes.get(offset) ?? 0;
    // The local error names the local worker and the item's place in a part
    // of the chunk: say instead how it died, and how often.
    const how = /\((.*)\); it was tried on \d+ workers?$/s.exec(error.message)?.[1] ??
      error.message;
    const summary = new Error(
      `${how}; it was tried ${crashes} time${
        crashes === 1 ? "" : "s"
      }, last on node ${this.#host.name}`,
      { cause: error.cause },
    );
    return {
      offset,
      ok: false,
      kind: "crash",
      error: this.#host.writer.write(summary),
      workerId: error.workerId,
    };
  }

  #failure(offset: number, error: unknown): Outcome {
    const task = error instanceof TaskError;
    return {
      offset,
      ok: false,
      kind: "task",
      error: this.#host.writer.write(task && error.cause !== undefined ? error.cause : error),
      workerId: task ? error.workerId : 0,
    };
  }

  #settle(failure: Outcome): void {
    this.#failures.set(failure.offset, failure);
    this.#unsentFailures.push(failure);
    this.#schedule();
  }

  #returnedValue(offset: number, value: unknown): void {
    this.#values[offset] = value;
    this.#returned[offset] = 1;
    this.#unsentValues.push(offset);
    this.#schedule();
  }

  /** The outcomes not yet reported: failures, then values in runs. */
  #takeOutcomes(): Outcome[] {
    const outcomes = [...this.#unsentFailures, ...this.#runs(this.#unsentValues)];
    this.#unsentFailures = [];
    this.#unsentValues = [];
    return outcomes;
  }

  /**
   * The values at `offsets` as runs of consecutive items; a run of numbers
   * as a `Float64Array`, which travels as its bytes.
   */
  #runs(offsets: number[]): Outcome[] {
    const sorted = Int32Array.from(offsets).sort();
    const runs: Outcome[] = [];
    for (let i = 0; i < sorted.length;) {
      let end = i + 1;
      while (end < sorted.length && sorted[end] === sorted[end - 1] + 1) end++;
      const values = this.#values.slice(sorted[i], sorted[i] + end - i);
      const numbers = values.every((value) => typeof value === "number");
      runs.push({
        offset: sorted[i],
        ok: true,
        values: numbers ? Float64Array.from(values as number[]) : values,
      });
      i = end;
    }
    return runs;
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.#flush(), PROGRESS_MS);
  }

  #flush(): void {
    this.#timer = undefined;
    const idle = this.#unsentValues.length + this.#unsentFailures.length === 0;
    if (idle && !this.#crashesChanged) return;
    this.#host.report(this.#takeOutcomes(), this.#takeCrashes());
  }

  #takeCrashes(): Crash[] {
    if (!this.#crashesChanged) return [];
    this.#crashesChanged = false;
    return [...this.#crashes];
  }
}
