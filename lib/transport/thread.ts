/**
 * Workers as Web Workers, threads of this process. Besides messages, a
 * thread shares memory with its pool: a flag that asks it to stop, the
 * claims through which chunks it has not started can be taken back, the
 * count of results the pool has handled, and, while it may wait awake when
 * idle, the counts and the `CpuBoard` that tell it when to stop waiting.
 *
 * @module
 */

import { CpuBoard } from "./cpu_board.ts";
import type { Claim, LinkListener, TakeBack, Transport, WorkerLink, WorkerStart } from "./link.ts";
import type { ChunkResult, FromWorker, StayAwake, ToWorker } from "../_protocol.ts";
import { ResultBoard } from "./result_board.ts";
import { CLAIM_RUNNING as RUNNING, CLAIM_TAKEN_BACK as TAKEN_BACK } from "../_protocol.ts";
import { workerSource } from "../worker/program.ts";

let workerUrl: string | undefined;

/** Slots in a worker's claim buffer: more than it ever holds (its window is at most `MAX_WINDOW`, 512). */
const CLAIM_SLOTS = 1024;

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

/** How a pool's threads are started. */
export interface ThreadOptions {
  /** The workers the pool keeps, which sizes the `CpuBoard`. */
  readonly workers: number;
  /** Permissions for each worker, passed to Deno's `deno.permissions` worker option. */
  readonly permissions: Deno.PermissionOptions | undefined;
  /** `true`: an idle worker may wait awake for its next message (see `worker/stay_awake.ts`). */
  readonly stayAwake: boolean;
}

/** Starts a pool's workers as Web Workers. */
export class ThreadTransport implements Transport {
  #permissions: Deno.PermissionOptions | undefined;
  /**
   * A slot for each live worker: those retiring and their replacements.
   * `null` when workers never wait awake, and so never look at it.
   */
  #board: CpuBoard | null;

  constructor(options: ThreadOptions) {
    this.#permissions = options.permissions;
    this.#board = options.stayAwake ? new CpuBoard(2 * options.workers) : null;
  }

  start(worker: WorkerStart, listener: LinkListener): WorkerLink {
    return new ThreadLink(worker, listener, this.#permissions, this.#board);
  }

  settled(): Promise<void> {
    return Promise.resolve();
  }
}

/** One Web Worker and the memory it shares with the pool. */
class ThreadLink implements WorkerLink {
  #worker: Worker;
  #stop = new Int32Array(new SharedArrayBuffer(4));
  #claims = new Int32Array(new SharedArrayBuffer(4 * CLAIM_SLOTS));
  /** Result messages from the worker handled so far, shared with it. */
  #read = new Int32Array(new SharedArrayBuffer(4));
  #results = new ResultBoard();
  /** What lets it wait awake, or `null` when it sleeps as soon as it is idle. */
  #awake: StayAwake | null = null;
  #board: CpuBoard | null;
  /** Chunks given a slot so far; the next slot and tag follow from it. */
  #assigned = 0;
  #alive = true;

  constructor(
    start: WorkerStart,
    listener: LinkListener,
    permissions: Deno.PermissionOptions | undefined,
    board: CpuBoard | null,
  ) {
    const options: WorkerOptions & { deno?: { permissions: Deno.PermissionOptions } } = {
      type: "module",
      name: `pool-worker-${start.id}`,
    };
    if (permissions !== undefined) options.deno = { permissions };
    this.#worker = new Worker(workerScriptUrl(), options);
    this.#board = board;
    if (board !== null) {
      this.#awake = {
        posted: new Int32Array(new SharedArrayBuffer(4)),
        board: board.slots,
        boardPosts: board.posts,
        slot: board.take(),
      };
    }
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => {
      try {
        listener.onMessage(event.data);
      } finally {
        // Counted once handled: a worker that sees every answer handled
        // sends its next results at once (see `worker/results.ts`).
        if (Array.isArray(event.data)) Atomics.add(this.#read, 0, 1);
      }
    };
    this.#worker.onerror = (event) => {
      // Without preventDefault an error from the worker ends the whole program.
      event.preventDefault();
      listener.onFailure(event.message);
    };
    this.#worker.onmessageerror = () => {
      listener.onFailure("a message from the worker could not be read");
    };
    try {
      this.post({
        type: "init",
        workerId: start.id,
        stop: this.#stop,
        claims: this.#claims,
        // Absent, not `undefined`, when the worker sleeps as soon as it is idle.
        ...(this.#awake === null ? {} : { awake: this.#awake }),
        read: this.#read,
        board: this.#results.memory,
        initializer: start.initializer,
        initArgs: start.initArgs,
      });
    } catch (error) {
      // Not started after all: a worker left running would keep the program alive.
      this.terminate();
      throw error;
    }
  }

  claim(chunk: Claim): void {
    const slot = this.#assigned % CLAIM_SLOTS;
    // Tags run 1 ..< 2^30, one per chunk sent: a slot reused after 1024
    // sends never holds the tag a stale message for it carries.
    const tag = (this.#assigned % 0x3fffffff) + 1;
    this.#assigned++;
    Atomics.store(this.#claims, slot, tag);
    chunk.slot = slot;
    chunk.tag = tag;
  }

  post(message: ToWorker): void {
    this.#worker.postMessage(message);
    const awake = this.#awake;
    if (awake === null) return;
    Atomics.add(awake.posted, 0, 1);
    Atomics.add(awake.boardPosts, 0, 1);
  }

  takeBack(chunk: Readonly<Claim>): TakeBack {
    const was = Atomics.compareExchange(this.#claims, chunk.slot, chunk.tag, TAKEN_BACK);
    if (was === chunk.tag) return "taken";
    return was === RUNNING ? "running" : "done";
  }

  readBoard(): ChunkResult[] {
    return this.#results.read();
  }

  /**
   * A worker busy in synchronous code cannot be interrupted by `terminate()`
   * in Deno; the stop flag makes it give up between items.
   */
  terminate(): void {
    if (!this.#alive) return;
    this.#alive = false;
    Atomics.store(this.#stop, 0, 1);
    this.#worker.onmessage = null;
    this.#worker.onerror = null;
    this.#worker.onmessageerror = null;
    this.#worker.terminate();
    if (this.#awake !== null) this.#board?.give(this.#awake.slot);
  }
}
