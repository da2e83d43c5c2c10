/**
 * The result board: where a worker puts the results it holds before it
 * starts its next chunk, so that the pool can take them should that chunk
 * run long. Held results would otherwise wait for it: a synchronous chunk
 * holds the worker's thread, and nothing can send them until it ends.
 *
 * Writing a value there costs a few stores; a message would cost the main
 * thread microseconds to read, which is what holding results saves. So
 * only small results go on the board: numbers, short strings, booleans,
 * `null`, `undefined`, and plain data (objects and arrays of those that JSON
 * carries exactly); a held result of any other kind is sent instead, before
 * the chunk starts.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import { BOARD } from "../_protocol.ts";
import type { WorkerState } from "./state.ts";

/**
 * Puts the held results not yet on the board there, and publishes them.
 *
 * @param w The worker's state.
 * @returns `false` when one cannot go there (no board, not a primitive,
 * failed items, no room): the held results must be sent.
 */
export function postOnBoard(w: WorkerState): boolean {
  const board = w.board;
  if (board === null) return false;
  const { header, slots, chars } = board;
  const held = w.held;
  if (w.boarded === 0) board.since[0] = w.origin + w.heldSince;
  let used = w.boardSlots;
  let charsUsed = w.boardChars;
  let objects = 0;
  for (let k = w.boarded; k < held.length; k++) {
    const [id, values, errors, start, end] = held[k];
    const n = values.length;
    if (errors !== null || used + 4 + 2 * n > slots.length) return false;
    // Counted before any is copied: a batch of many objects is sent instead.
    if (!ArrayBuffer.isView(values)) {
      for (let i = 0; i < n; i++) {
        const value = values[i];
        if (typeof value === "object" && value !== null && ++objects > BOARD.OBJECTS_MAX) {
          return false;
        }
      }
    }
    slots[used] = id;
    slots[used + 1] = start;
    slots[used + 2] = end;
    slots[used + 3] = n;
    let at = used + 4;
    const holes = Array.isArray(values);
    for (let i = 0; i < n; i++, at += 2) {
      const value = values[i];
      let tag: number = BOARD.TAG_NUMBER;
      let payload = 0;
      if (typeof value === "number") payload = value;
      else if (value === undefined) {
        tag = holes && !(i in values) ? BOARD.TAG_HOLE : BOARD.TAG_UNDEFINED;
      } else if (value === null) tag = BOARD.TAG_NULL;
      else if (value === true) tag = BOARD.TAG_TRUE;
      else if (value === false) tag = BOARD.TAG_FALSE;
      else {
        let text: string | null;
        if (typeof value === "string") {
          text = value.length > BOARD.STRING_MAX ? null : value;
        } else {
          const clone = plainJson(value);
          if (clone === null) return false;
          // The copy goes in the message too: a getter is read once, and the
          // board and the message carry the same value.
          (values as unknown[])[i] = clone.copy;
          text = clone.text;
        }
        if (text === null) return false;
        const length = text.length;
        if (charsUsed + length > chars.length) return false;
        for (let c = 0; c < length; c++) chars[charsUsed + c] = text.charCodeAt(c);
        tag = typeof value === "string" ? BOARD.TAG_STRING : BOARD.TAG_JSON;
        payload = charsUsed * BOARD.STRING_SPAN + length;
        charsUsed += length;
      }
      slots[at] = tag;
      slots[at + 1] = payload;
    }
    used = at;
    // Published one by one: a later result that cannot go leaves the
    // earlier ones readable until the flush that follows.
    w.boardSlots = used;
    w.boardChars = charsUsed;
    w.boarded = k + 1;
    Atomics.store(header, BOARD.ENTRIES, k + 1);
  }
  return true;
}

/**
 * A result's structured clone, and the clone as JSON text when JSON carries
 * it exactly and it is small: plain objects and arrays (no holes, no
 * `undefined`, no `-0`, no `NaN`) of numbers, strings, booleans and `null`.
 *
 * @param value A task's result, not a string.
 * @returns `null` when it is no object, has too many values to go on the
 * board, or cannot be cloned; else its copy, and its JSON text or `null`.
 */
export function plainJson(value: unknown): { copy: unknown; text: string | null } | null {
  if (typeof value !== "object" || value === null) return null;
  // What the pool gets is what structuredClone gives: a getter read once,
  // a Proxy refused.
  let copy: unknown;
  try {
    // Too many values to go there: not worth the copy.
    const size = Array.isArray(value) ? value.length : Object.keys(value).length;
    if (size > BOARD.JSON_VALUES) return null;
    copy = structuredClone(value);
  } catch {
    return null;
  }
  let budget = BOARD.JSON_VALUES;
  const plain = (v: unknown): boolean => {
    if (--budget < 0) return false;
    if (v === null || typeof v === "boolean" || typeof v === "string") return true;
    if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
    if (typeof v !== "object") return false;
    const proto = Object.getPrototypeOf(v);
    if (Array.isArray(v)) {
      if (proto !== Array.prototype || Object.keys(v).length !== v.length) return false;
      for (let i = 0; i < v.length; i++) if (!(i in v) || !plain(v[i])) return false;
      return true;
    }
    if (proto !== Object.prototype || Object.getOwnPropertySymbols(v).length > 0) return false;
    if ("toJSON" in v) return false;
    for (const key of Object.keys(v)) if (!plain((v as Record<string, unknown>)[key])) return false;
    return Object.keys(v).length === Object.getOwnPropertyNames(v).length;
  };
  if (!plain(copy)) return { copy, text: null };
  const text = JSON.stringify(copy);
  return { copy, text: text.length <= BOARD.JSON_MAX ? text : null };
}

/**
 * Empties the board, once its results have been sent: the generation moves
 * first, so a reader still at the old entries drops them.
 *
 * @param w The worker's state.
 */
export function clearBoard(w: WorkerState): void {
  const board = w.board;
  if (board === null || w.boarded === 0) return;
  Atomics.add(board.header, BOARD.GENERATION, 1);
  Atomics.store(board.header, BOARD.ENTRIES, 0);
  w.boarded = 0;
  w.boardSlots = 0;
  w.boardChars = 0;
}
