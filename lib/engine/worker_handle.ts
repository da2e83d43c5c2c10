/**
 * `WorkerHandle`: one worker as the engine keeps it. The chunks it holds,
 * how many it was sent and when, whether it takes more: all of it the
 * engine's bookkeeping, the same whichever transport reaches the worker
 * through its `WorkerLink`.
 *
 * @module
 */

import type { Call, Chunk } from "./call.ts";
import { Deque } from "./deque.ts";
import type { FunctionTable } from "./functions.ts";
import type { ChunkResult, RunChunk } from "../_protocol.ts";
import type { TakeBack, WorkerLink } from "../transport/link.ts";

/** A live worker and the engine's bookkeeping of it. */
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
  /**
   * Ids of chunks whose results were taken from its result board: their
   * message, when it comes, is skipped for them.
   */
  readonly boarded = new Set<number>();
  #link: WorkerLink;
  /** Functions it has been sent a `define` for. */
  #defined = new Set<number>();

  constructor(id: number, link: WorkerLink) {
    this.id = id;
    this.#link = link;
  }

  /** Chunks it holds: sent and not yet answered. */
  get held(): number {
    return this.inFlight.size;
  }

  /**
   * Sends a batch of chunks as one message, after a `define` for each
   * function the worker has not seen. Throws the `DataCloneError` when an
   * item cannot be cloned; nothing is then recorded as in flight.
   */
  send(chunks: readonly Chunk[], functions: FunctionTable): void {
    const link = this.#link;
    const wire: RunChunk[] = [];
    for (const chunk of chunks) {
      const call = chunk.call;
      if (!this.#defined.has(call.fnId)) {
        this.#defined.add(call.fnId);
        link.post({ type: "define", fnId: call.fnId, spec: functions.get(call.fnId) });
      }
      link.claim(chunk);
      // Packed numbers are copied, not transferred: the chunk keeps its items
      // in case its worker dies and it must run again.
      wire.push([
        chunk.id,
        chunk.slot,
        chunk.tag,
        call.fnId,
        call.spread,
        call.settle,
        chunk.items,
      ]);
    }
    link.post(wire);
    for (const chunk of chunks) this.inFlight.push(chunk);
    this.sent += chunks.length;
  }

  /**
   * Takes back up to `count` chunks from the back of its line, stopping at
   * the first it cannot take (it has started, and so has every chunk before
   * it). Returns them in the order they were sent.
   */
  takeBackLast(count: number): Chunk[] {
    const taken: Chunk[] = [];
    for (let n = count; n > 0; n--) {
      if (this.#takeBack(this.inFlight.peekBack() as Chunk) !== "taken") break;
      taken.push(this.inFlight.pop() as Chunk);
    }
    return taken.reverse();
  }

  /**
   * Takes back every chunk of `call` it holds and has not started; those
   * that are done stay, as their results are on their way. Returns `true`
   * when one of them is running, or may be, as the link cannot tell: only
   * ending the worker stops it.
   */
  withdraw(call: Call): boolean {
    let running = false;
    const held = this.inFlight.size;
    for (let i = 0; i < held; i++) {
      const chunk = this.inFlight.shift() as Chunk;
      if (chunk.call === call) {
        const stood = this.#takeBack(chunk);
        if (stood === "taken") continue;
        if (stood !== "done") running = true;
      }
      this.inFlight.push(chunk);
    }
    return running;
  }

  /** Every chunk it holds, in its line's order; it then holds none. */
  drain(): Chunk[] {
    const chunks: Chunk[] = [];
    while (this.inFlight.size > 0) chunks.push(this.inFlight.shift() as Chunk);
    return chunks;
  }

  /**
   * Results it has put on its result board since the last call, of chunks
   * still in its line; those chunks leave the line, and are remembered in
   * `boarded`. They need not be at its head: the message answering the
   * chunks before them may still be on its way.
   */
  takeBoarded(): { chunk: Chunk; result: ChunkResult }[] {
    const results = this.#link.readBoard();
    if (results.length === 0) return [];
    const byId = new Map(results.map((result) => [result[0], result]));
    const taken: { chunk: Chunk; result: ChunkResult }[] = [];
    this.inFlight.removeWhere((chunk) => {
      const result = byId.get(chunk.id);
      if (result === undefined) return false;
      this.boarded.add(chunk.id);
      taken.push({ chunk, result });
      return true;
    });
    return taken;
  }

  /** Ends the worker; it takes no more work. */
  terminate(): void {
    this.retiring = true;
    this.#link.terminate();
  }

  #takeBack(chunk: Chunk): TakeBack {
    const stood = this.#link.takeBack(chunk);
    if (stood === "taken") this.sent--;
    return stood;
  }
}
