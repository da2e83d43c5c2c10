/**
 * The seam between the engine and its workers. The engine sends messages to
 * "a worker" and hears back its messages or its failure; whether that worker
 * is a thread (`thread.ts`) or a separate process is the transport's
 * business. What the engine keeps about each worker (the chunks it holds,
 * how many it was sent) stays on the engine's side, in `WorkerHandle`.
 *
 * @module
 */

import type { ChunkResult, FromWorker, FunctionSpec, ToWorker } from "../_protocol.ts";

/**
 * Where a chunk stood when the engine tried to take it back: `"taken"`, it
 * had not started and now never will; `"running"`; `"done"`, its results are
 * on their way; `"unknown"`, the transport cannot take chunks back (it shares
 * no memory with its worker), so the chunk may run or not, and its results
 * may come.
 */
export type TakeBack = "taken" | "running" | "done" | "unknown";

/** A chunk's place in its worker's claim buffer: its slot, and the tag there (see `RunChunk`). */
export interface Claim {
  slot: number;
  tag: number;
}

/** One started worker, as the engine reaches it. */
export interface WorkerLink {
  /**
   * Gives a chunk about to be sent its claim, so that it can be taken back
   * until the worker starts it. Called once per chunk sent.
   */
  claim(chunk: Claim): void;
  /**
   * Posts a message to the worker. Throws the `DataCloneError` when the
   * message cannot be sent, and nothing is sent.
   */
  post(message: ToWorker): void;
  /** Takes back a chunk the worker was sent and has not started, so that it skips it. */
  takeBack(chunk: Readonly<Claim>): TakeBack;
  /**
   * Results the worker holds and has put on its result board since the
   * last call (see `worker/board.ts`), in the order it finished them; they
   * also come later in a message. None where the transport shares no memory.
   */
  readBoard(): ChunkResult[];
  /**
   * Ends the worker, even one busy in synchronous code, and stops listening
   * to it: nothing it sends afterwards is heard. Ending it twice does nothing.
   */
  terminate(): void;
}

/** What the engine hears from one worker. */
export interface LinkListener {
  /** A message from the worker. */
  onMessage(message: FromWorker): void;
  /** The worker failed in a way it could not report itself. */
  onFailure(reason: string): void;
}

/** What a worker is started with. */
export interface WorkerStart {
  readonly id: number;
  readonly initializer: FunctionSpec | null;
  readonly initArgs: readonly unknown[];
}

/** Starts the workers of one pool. */
export interface Transport {
  /**
   * Starts a worker, which then reports to `listener`. Throws when the
   * runtime refuses to start it (permissions it does not hold, or of a shape
   * it rejects); every later start would be refused alike.
   */
  start(worker: WorkerStart, listener: LinkListener): WorkerLink;
  /**
   * Resolves once every worker started so far has ended and what it held
   * (a process, its pipes) is released. Threads end when they are
   * terminated; a process a moment later.
   */
  settled(): Promise<void>;
}
