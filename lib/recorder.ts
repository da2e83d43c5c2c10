/**
 * Timestamps of work as it happens: which row (a worker, a task) was busy
 * from when to when. The pool writes to a recorder when one is given in its
 * options; a timeline is drawn from it afterwards (see `timeline.ts`).
 *
 * @module
 */

/** One stretch of work on one row. Times are ms since the recorder was made. */
export interface Span {
  /** The row: `"worker 2"`, `"Thread-1"`. */
  readonly row: string;
  /** When the span began, in ms since the recorder was made. */
  readonly start: number;
  /** When the span ended, in ms since the recorder was made. */
  readonly end: number;
  /** What ran: item indexes, a step number. */
  readonly label: string;
  /** `"run"`: the row was busy on the CPU; `"wait"`: it waited (a timer, I/O). */
  readonly kind: SpanKind;
}

/** Whether a span was spent running or waiting. */
export type SpanKind = "run" | "wait";

/** Numbers logged per span: ref, start, end, first index, count. */
const FIELDS = 5;
/** Spans per block of the log: 160 KiB a block. */
const BLOCK_SPANS = 4096;

/**
 * Collects spans of work. Times are read with `performance.timeOrigin +
 * performance.now()` on every thread, so spans recorded inside workers and on
 * the main thread share one clock.
 *
 * @example Record what a pool's workers did
 * ```ts
 * import { Pool, Recorder } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const recorder = new Recorder();
 * await using pool = new Pool({ workers: 2, recorder });
 * await pool.map((n: number) => n * n, [1, 2, 3, 4], { chunkSize: 1 });
 * assert.equal(recorder.spans.length, 4);
 * assert.ok(recorder.spans.every((span) => span.row.startsWith("worker ")));
 * ```
 */
export class Recorder {
  /** The recorder's time zero, in ms since the epoch. */
  readonly origin: number = Recorder.now();
  // Spans are logged as numbers, FIELDS to a span, in fixed-size blocks, and
  // turned into objects only when read: a pool records a span per chunk, and
  // keeping an object and two strings per chunk alive cost the per-task
  // benchmark about 20%. Blocks are added, never grown: a log grown by
  // doubling copied itself and made the collector see ever larger buffers.
  // A span's `ref` is its worker id when positive, else -(its index in #named + 1).
  #blocks: Float64Array[] = [];
  #count = 0;
  #named: { row: string; label: string; kind: SpanKind }[] = [];
  #spans: Span[] = [];

  /** The current time on the shared clock, in ms since the epoch. */
  static now(): number {
    return performance.timeOrigin + performance.now();
  }

  /** Every span recorded so far, in the order recorded. */
  get spans(): readonly Span[] {
    for (let i = this.#spans.length; i < this.#count; i++) {
      const log = this.#blocks[Math.floor(i / BLOCK_SPANS)];
      const at = (i % BLOCK_SPANS) * FIELDS;
      const ref = log[at];
      const start = log[at + 1] - this.origin;
      const end = log[at + 2] - this.origin;
      if (ref > 0) {
        const first = log[at + 3];
        const last = first + log[at + 4] - 1;
        const label = first === last ? `${first}` : `${first}..${last}`;
        this.#spans.push({ row: `worker ${ref}`, start, end, label, kind: "run" });
      } else {
        const { row, label, kind } = this.#named[-ref - 1];
        this.#spans.push({ row, start, end, label, kind });
      }
    }
    return this.#spans;
  }

  /** Records a span; `start` and `end` are times from {@linkcode Recorder.now}. */
  record(row: string, start: number, end: number, label = "", kind: SpanKind = "run"): void {
    this.#named.push({ row, label, kind });
    this.#append(-this.#named.length, start, end, 0, 0);
  }

  /** The spans with times rounded to the microsecond, for `JSON.stringify`. */
  toJSON(): Span[] {
    const round = (ms: number) => Math.round(ms * 1000) / 1000;
    return this.spans.map((span) => ({ ...span, start: round(span.start), end: round(span.end) }));
  }

  /** Records a chunk of `count` items from `firstIndex` that ran on worker `workerId`. */
  chunk(workerId: number, firstIndex: number, count: number, start: number, end: number): void {
    this.#append(workerId, start, end, firstIndex, count);
  }

  #append(ref: number, start: number, end: number, first: number, count: number): void {
    const at = (this.#count % BLOCK_SPANS) * FIELDS;
    if (at === 0) this.#blocks.push(new Float64Array(BLOCK_SPANS * FIELDS));
    const log = this.#blocks[this.#blocks.length - 1];
    log[at] = ref;
    log[at + 1] = start;
    log[at + 2] = end;
    log[at + 3] = first;
    log[at + 4] = count;
    this.#count++;
  }
}
