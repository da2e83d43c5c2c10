/**
 * The pool's side of a worker's result board (see `worker/board.ts`): the
 * shared memory, and reading the results the worker has put there since
 * the last read.
 *
 * @module
 */

import { BOARD, type ChunkResult, type ResultBoardMemory } from "../_protocol.ts";

/** One worker's result board, as the pool reads it. */
export class ResultBoard {
  /** The memory, handed to the worker in `init`. */
  readonly memory: ResultBoardMemory = {
    header: new Int32Array(new SharedArrayBuffer(8)),
    since: new Float64Array(new SharedArrayBuffer(8)),
    slots: new Float64Array(new SharedArrayBuffer(8 * BOARD.SLOTS)),
    chars: new Uint16Array(new SharedArrayBuffer(2 * BOARD.CHARS)),
  };
  /** The generation read last, and how far into it. */
  #generation = 0;
  #entries = 0;
  #slot = 0;

  /**
   * The results put on the board since the last read, in the order the
   * worker finished them; none when it is empty, was emptied meanwhile, or
   * its first result is under `BOARD.MIN_AGE_MS` old.
   */
  read(): ChunkResult[] {
    const { header, slots } = this.memory;
    const generation = Atomics.load(header, BOARD.GENERATION);
    if (generation !== this.#generation) {
      this.#generation = generation;
      this.#entries = 0;
      this.#slot = 0;
    }
    const entries = Atomics.load(header, BOARD.ENTRIES);
    if (entries <= this.#entries) return [];
    // Younger results are on their way in a message: a worker that holds
    // results sends them before a chunk once they are HOLD_MS old.
    const age = performance.timeOrigin + performance.now() - this.memory.since[0];
    if (age < BOARD.MIN_AGE_MS) return [];
    const results: ChunkResult[] = [];
    let slot = this.#slot;
    for (let k = this.#entries; k < entries; k++) {
      const n = slots[slot + 3];
      // Torn by an emptying mid-read: the generation check below drops it all.
      if (!(n >= 0 && slot + 4 + 2 * n <= slots.length)) return [];
      const values = new Array<unknown>(n);
      try {
        for (let i = 0, at = slot + 4; i < n; i++, at += 2) {
          const tag = slots[at];
          if (tag !== BOARD.TAG_HOLE) values[i] = this.#value(tag, slots[at + 1]);
        }
      } catch {
        // Text torn by an emptying mid-read: the generation check drops it all.
        return [];
      }
      results.push([slots[slot], values, null, slots[slot + 1], slots[slot + 2]]);
      slot += 4 + 2 * n;
    }
    // Emptied while it was read: what was read may be another generation's.
    if (Atomics.load(header, BOARD.GENERATION) !== generation) return [];
    this.#entries = entries;
    this.#slot = slot;
    return results;
  }

  #value(tag: number, payload: number): unknown {
    switch (tag) {
      case BOARD.TAG_NUMBER:
        return payload;
      case BOARD.TAG_NULL:
        return null;
      case BOARD.TAG_TRUE:
        return true;
      case BOARD.TAG_FALSE:
        return false;
      case BOARD.TAG_STRING:
        return this.#text(payload);
      case BOARD.TAG_JSON:
        return JSON.parse(this.#text(payload));
      default:
        return undefined;
    }
  }

  #text(payload: number): string {
    const offset = Math.floor(payload / BOARD.STRING_SPAN);
    const length = payload % BOARD.STRING_SPAN;
    const chars = this.memory.chars.subarray(offset, offset + length);
    let text = "";
    for (let at = 0; at < length; at += 256) {
      text += String.fromCharCode(...chars.subarray(at, at + 256));
    }
    return text;
  }
}
