/**
 * The worker program's state: one object, made when the worker starts (see
 * `workerMain`), that the program's pieces pass each other and read and
 * write. It is made whole at once and never gains or loses a field, so the
 * per-item reads of the chunk loops stay as cheap as reads of a local.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import type { ChunkResult, ResultBoardMemory, ToWorker } from "../_protocol.ts";
import type { ErrorWriter } from "../_wire.ts";
import type { Channel } from "./channel.ts";
import type { Running, Task } from "./run_chunk.ts";
import type { Spin } from "./stay_awake.ts";

/** Everything the worker program keeps between one message and the next. */
export interface WorkerState {
  /** The worker's line to the pool. */
  readonly channel: Channel;
  /** Writes down what tasks throw; made before any task could change the error classes. */
  readonly errors: ErrorWriter;
  /** `performance.timeOrigin`: results' times are on a clock all threads share. */
  readonly origin: number;
  /** The functions `define` messages sent, by id: compiled, or what stopped that. */
  readonly tasks: Map<number, Task>;
  /** `pump` bound to this state, made once: it resumes the pump after an async step. */
  readonly resume: () => void;
  /** Ends the worker for an error that escaped an async step of the pump. */
  readonly crash: (error: unknown) => void;

  // What `init` hands over. Each is optional there: `null` until then, and
  // for good where a worker started by hand goes without.
  /** The shared stop flag: non-zero asks the worker to stop early. */
  stop: Int32Array | null;
  /** Claim slots shared with the pool (see `RunChunk`). */
  claims: Int32Array | null;
  /** The pool's count of this worker's result messages it has handled. */
  read: Int32Array | null;
  /** Where held results wait for the pool to take them (see `board.ts`). */
  board: ResultBoardMemory | null;

  // The pump (see `main.ts`).
  /** Messages received and not yet handled, from `head` on. */
  readonly inbox: (ToWorker | undefined)[];
  /** The next message of `inbox` to handle. */
  head: number;
  /** `true` while the pump handles messages, or waits for one of them to finish. */
  pumping: boolean;
  /** `true` once the worker has sent its last word: it runs nothing more. */
  dying: boolean;
  /**
   * What the worker is loading while no chunk runs: `"init"` while its
   * initializer runs, or the id of a function whose module it imports or
   * whose source it compiles. If the worker dies then, this says whose fault
   * it was (see `FromWorker`).
   */
  loading: "init" | number | null;

  // Running chunks (see `run_chunk.ts`).
  /** The chunk running now, for a last word about it should the worker die. */
  running: Running | null;

  // Results (see `results.ts`).
  /** Results of a batch's chunks, held to go back together. */
  held: ChunkResult[];
  /** When the first of `held` was done, by `performance.now()`. */
  heldSince: number;
  /** Result messages posted, to compare with the pool's count of those it has handled. */
  resultsPosted: number;
  /** How many of `held` are on the board, and the board's slots and characters they fill. */
  boarded: number;
  boardSlots: number;
  boardChars: number;

  /** Waiting awake for the next message (see `stay_awake.ts`). */
  readonly spin: Spin;
}

/**
 * Whether the worker is to run no more items: it is dying, or the pool set
 * the stop flag.
 *
 * @param w The worker's state.
 * @returns `true` to stop before the next item.
 */
export function stopped(w: WorkerState): boolean {
  // A plain read, not Atomics.load: this runs before every item, V8 inlines
  // a typed-array read but calls out for Atomics.load (a third of the time of
  // a map of tiny items). The flag is only ever set once, from 0 to 1, and
  // the read is repeated, so a late sight of it only delays the stop by an item.
  const stop = w.stop;
  return w.dying || (stop !== null && stop[0] !== 0);
}

/**
 * The time now in ms since the epoch, on a clock all threads share.
 *
 * @param w The worker's state.
 * @returns `timeOrigin + now()`.
 */
export function now(w: WorkerState): number {
  return w.origin + performance.now();
}
