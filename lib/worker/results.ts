/**
 * Sending results back: holding a batch's finished results to go together
 * while the pool is behind, and making results that cannot be sent fail
 * instead of failing the send.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import type { ChunkResult } from "../_protocol.ts";
import { clearBoard, postOnBoard } from "./board.ts";
import { stopped, type WorkerState } from "./state.ts";

/** The longest a batch's finished results wait for the rest of it, in ms, while the pool is behind. */
export const HOLD_MS = 1;

/**
 * Holds a chunk's results to go back with the rest of its batch's.
 *
 * @param w The worker's state.
 * @param result The chunk's results.
 */
export function hold(w: WorkerState, result: ChunkResult): void {
  if (w.held.length === 0) w.heldSince = performance.now();
  w.held.push(result);
}

/**
 * Decides, with results of the batch done, whether they go now or wait to
 * go with the next ones. The next chunk may run for any time, so what is
 * done goes before it when the pool would handle it at once: when it has
 * handled every earlier answer of this worker. A pool still busy with
 * those (or with other workers' answers, or the caller's code) would not
 * read them sooner, so a batch holds its results while the pool is behind,
 * as long as they are under `HOLD_MS` old, and can be put on the result
 * board (see `board.ts`), from which the pool takes them should the next
 * chunk run long. Sending every chunk's results at once instead made
 * 100,000 queued tiny tasks 3-4 times slower (2 cores): a message costs the
 * main thread 3-5 µs.
 *
 * @param w The worker's state; it holds results.
 */
export function beforeChunk(w: WorkerState): void {
  if (caughtUp(w) || performance.now() - w.heldSince >= HOLD_MS || !postOnBoard(w)) {
    flushResults(w);
  }
}

/**
 * Whether the pool has handled every result message this worker posted.
 * Never, for a worker started without the count (see `init`'s `read`).
 */
export function caughtUp(w: WorkerState): boolean {
  return w.read !== null && Atomics.load(w.read, 0) === w.resultsPosted;
}

/**
 * Sends the results held so far; nothing when every chunk was taken back.
 *
 * @param w The worker's state.
 */
export function flushResults(w: WorkerState): void {
  if (stopped(w) || w.held.length === 0) return;
  const results = w.held;
  w.held = [];
  sendResults(w, results);
  w.resultsPosted++;
  clearBoard(w);
}

/**
 * Sends results in one message, handing their packed numbers over. Never
 * throws: results that cannot be sent fail.
 *
 * @param w The worker's state.
 * @param results Results of one or more chunks.
 */
export function sendResults(w: WorkerState, results: ChunkResult[]): void {
  const transfer: ArrayBuffer[] = [];
  for (const [, values] of results) {
    if (values instanceof Float64Array) transfer.push(values.buffer as ArrayBuffer);
  }
  try {
    w.channel.post(results, transfer);
    return;
  } catch {
    sendable(w, results);
  }
  try {
    w.channel.post(results, transfer);
  } catch (reason) {
    // Each result clones on its own but not all together (too large for
    // one message): the items fail, so that their chunks are not run again
    // forever on fresh workers that fail the same way.
    const error = w.errors.write(reason);
    w.channel.post(results.map(([id, values, , start, end]): ChunkResult => [
      id,
      // The chunk's size travels as the length of its values.
      new Array(values.length),
      Array.from({ length: values.length }, (_, index) => ({ index, error, unsendable: true })),
      start,
      end,
    ]));
  }
}

/**
 * Replaces results that cannot be cloned with errors saying so, and the
 * rest with their clones: a result whose getters answer differently each
 * time cannot then fail the next send.
 *
 * @param w The worker's state.
 * @param results Results of one or more chunks, changed in place.
 */
export function sendable(w: WorkerState, results: ChunkResult[]): void {
  for (let k = 0; k < results.length; k++) {
    const [id, values, sent, start, end] = results[k];
    if (values instanceof Float64Array) continue;
    const errors = sent === null ? [] : [...sent];
    for (let i = 0; i < values.length; i++) {
      if (!(i in values)) continue;
      try {
        values[i] = structuredClone(values[i]);
      } catch (reason) {
        values[i] = undefined;
        errors.push({ index: i, error: w.errors.write(reason), unsendable: true });
      }
    }
    if (errors.length > 0) results[k] = [id, values, errors, start, end];
  }
}
