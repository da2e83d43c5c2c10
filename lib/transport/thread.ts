/**
 * One worker as the pool sees it: the Web Worker, what it has been sent and
 * not yet answered, the shared flag that asks it to stop, and the shared
 * claims through which chunks it has not started can be taken back.
 *
 * @module
 */

import type { Chunk } from "../engine/call.ts";
import type { CpuBoard } from "./cpu_board.ts";
import type { FromWorker, FunctionSpec, RunChunk, ToWorker } from "../_protocol.ts";
import { CLAIM_RUNNING as RUNNING, CLAIM_TAKEN_BACK as TAKEN_BACK } from "../_protocol.ts";
import { Deque } from "../engine/deque.ts";
import { workerSource } from "../worker/program.ts";

let workerUrl: string | undefined;

/** Slots in a worker's claim buffer: more than it ever holds (the dispatcher's window is at most 512). */
const CLAIM_SLOTS = 1024;

/** Where a chunk stood when the pool tried to take it back. */
export type TakeBack = "taken" | "running" | "done";

/**
 * The worker program as a `blob:` URL, made once and kept for the life of
 * the process: workers are started again after a crash or an idle timeout.
 * A worker loaded from a file needs `--allow-read`; one loaded from its
 * source needs no permission. A `blob:` URL started a worker sooner than the
 * same source in a `data:` URL: 12.4 against 19.7 ms and 18.9 against 23.1
 * ms to its first line (2 cores, medians of 21).
 */
function workerScriptUrl(): string {
  workerUrl ??= URL.createObjectURL(
    new Blob([workerSource()], { type: "application/javascript" }),
  );
  return workerUrl;
}

/** Everything a worker needs to start. */
export interface WorkerStart {
  readonly id: number;
  readonly initializer: FunctionSpec | null;
  readonly initArgs: readonly unknown[];
  /** Permissions for the worker, passed to Deno's `deno.permissions` worker option. */
  readonly permissions: Deno.PermissionOptions | undefined;
  /** The pool's `CpuBoard`, and the slot on it this worker marks. */
  readonly board: CpuBoard;
  readonly boardSlot: number;
  readonly onMessage: (handle: WorkerHandle, message: FromWorker) => void;
  /** The worker failed in a way it could not report itself. */
  readonly onFailure: (handle: WorkerHandle, reason: string) => void;
}

/** A live worker and its bookkeeping. */
export class WorkerHandle {
  readonly id: number;
  /** Chunks sent and not yet answered, in the order the worker runs them. */
  readonly inFlight: Deque<Chunk> = new Deque();
  /** Chunks sent over the worker's life, for `maxTasksPerChild`. */
  sent = 0;
  /** `true` once it has sent results: it has run a task, so it has got past its initializer. */
  answered = false;
  /** `true` once it takes no new work (replaced, or has run its share). */
  retiring = false;
  /** When it was last sent a batch, as the dispatcher counts batches. */
  lastSent = 0;
  /** Its slot on the pool's `CpuBoard`, or -1. */
  readonly boardSlot: number;
  #worker: Worker;
  #stop = new Int32Array(new SharedArrayBuffer(4));
  #claims = new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));
  /** Result messages from the worker handled so far, shared with it. */
  #read = new Int32Array(new SharedArrayBuffer(4));
  /** Messages posted to the worker, shared with it (see `StayAwake`). */
  #posted = new Int32Array(new SharedArrayBuffer(4));
  #boardPosts: Int32Array;
  /** Chunks given a slot so far; the next slot and tag follow from it. */
  #assigned = 0;
  #defined = new Set<number>();
  #alive = true;

  constructor(start: WorkerStart) {
    this.id = start.id;
    this.boardSlot = start.boardSlot;
    this.#boardPosts = start.board.posts;
    const options: WorkerOptions & { deno?: { permissions: Deno.PermissionOptions } } = {
      type: "module",
      name: `pool-worker-${start.id}`,
    };
    if (start.permissions !== undefined) options.deno = { permissions: start.permissions };
    this.#worker = new Worker(workerScriptUrl(), options);
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
      try {
        start.onMessage(this, event.data);
      } finally {
        // Counted once handled: a worker that sees every answer handled
        // sends its next results at once (see `workerMain`).
        if (Array.isArray(event.data)) Atomics.add(this.#read, 0, 1);
      }
    };
    this.#worker.onerror = (event) => {
      // Without preventDefault an error from the worker ends the whole program.
      event.preventDefault();
      start.onFailure(this, event.message);
    };
    this.#worker.onmessageerror = () => {
      start.onFailure(this, "a message from the worker could not be read");
    };
    try {
      this.#postInit(start);
    } catch (error) {
      // Not started after all: a worker left running would keep the program alive.
      this.terminate();
      throw error;
    }
  }

  #postInit(start: WorkerStart): void {
    this.#post({
      type: "init",
      workerId: start.id,
      stop: this.#stop,
      claims: this.#claims,
      awake: {
        posted: this.#posted,
        board: start.board.slots,
        boardPosts: start.board.posts,
        slot: start.boardSlot,
      },
      read: this.#read,
      initializer: start.initializer,
      initArgs: start.initArgs,
    });
  }

  /** `false` once terminated. */
  get alive(): boolean {
    return this.#alive;
  }

  /** Sends `define` for every function this worker has not seen yet. */
  define(fnId: number, spec: FunctionSpec): void {
    if (this.#defined.has(fnId)) return;
    this.#defined.add(fnId);
    this.#post({ type: "define", fnId, spec });
  }

  /** Gives `chunk` a slot in the claim buffer, for the message that sends it. */
  assign(chunk: Chunk): void {
    const slot = this.#assigned % CLAIM_SLOTS;
    // Tags run 1 ..< 2^30, one per chunk sent: a slot reused after 1024
    // sends never holds the tag a stale message for it carries.
    const tag = (this.#assigned % 0x3fffffff) + 1;
    this.#assigned++;
    Atomics.store(this.#claims, slot, tag);
    chunk.slot = slot;
    chunk.tag = tag;
  }

  /**
   * Takes back a chunk the worker has not started, so that it skips it:
   * `"taken"` when it had not started, else `"running"` or `"done"` (its
   * results are on their way). The caller removes a taken chunk from
   * `inFlight`.
   */
  takeBack(chunk: Chunk): TakeBack {
    const was = Atomics.compareExchange(this.#claims, chunk.slot, chunk.tag, TAKEN_BACK);
    if (was === chunk.tag) {
      this.sent--;
      return "taken";
    }
    return was === RUNNING ? "running" : "done";
  }

  /**
   * Sends a batch of chunks as one message. Throws the `DataCloneError` when
   * an item cannot be cloned; nothing is then recorded as in flight.
   */
  run(chunks: Chunk[], wire: RunChunk[]): void {
    this.#post(wire);
    for (const chunk of chunks) this.inFlight.push(chunk);
    this.sent += chunks.length;
  }

  /**
   * Ends the worker. A worker busy in synchronous code cannot be interrupted
   * by `terminate()` in Deno; the stop flag makes it give up between items.
   */
  terminate(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.retiring = true;
    Atomics.store(this.#stop, 0, 1);
    this.#worker.onmessage = null;
    this.#worker.onerror = null;
    this.#worker.onmessageerror = null;
    this.#worker.terminate();
  }

  #post(message: ToWorker): void {
    this.#worker.postMessage(message);
    Atomics.add(this.#posted, 0, 1);
    Atomics.add(this.#boardPosts, 0, 1);
  }
}
