/**
 * Messages over a byte stream, for workers in another process: each message
 * is written with V8's serializer (the structured clone that `postMessage`
 * uses, so values cross exactly as they do to a thread), behind its length.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";

/** Bytes of the length that stands before each message. */
const HEADER = 4;

/**
 * Set in a frame's length when its body is results of numbers only, as
 * doubles (see {@linkcode encodeResultsFrame}): a worker process sends its
 * results before every chunk, and V8's serializer would cost it several
 * microseconds a message.
 */
const NUMBERS = 0x80000000;

/**
 * `message` as one frame: its length (4 bytes, little-endian), then its
 * bytes. Throws as `postMessage` would for a value that cannot be cloned.
 *
 * @param message Any structured-cloneable value.
 * @returns The frame.
 */
export function encodeFrame(message: unknown): Uint8Array {
  const body = serialize(message);
  const frame = new Uint8Array(HEADER + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, true);
  frame.set(body, HEADER);
  return frame;
}

/**
 * Results of chunks (`ChunkResult[]`) as one frame: where every value is a
 * number and no item failed, as doubles (`[count, then per result id,
 * start, end, n, values...]`), else as {@linkcode encodeFrame} writes any
 * message. {@linkcode FrameReader} reads both.
 *
 * @param results The results, as a worker sends them.
 * @returns The frame.
 */
export function encodeResultsFrame(results: readonly unknown[]): Uint8Array {
  const doubles = asDoubles(results);
  if (doubles === null) return encodeFrame(results);
  const frame = new Uint8Array(HEADER + doubles.byteLength);
  new DataView(frame.buffer).setUint32(0, (doubles.byteLength | NUMBERS) >>> 0, true);
  frame.set(new Uint8Array(doubles.buffer), HEADER);
  return frame;
}

/** Results of numbers only, as doubles; `null` for any other message. */
function asDoubles(results: readonly unknown[]): Float64Array | null {
  let size = 1;
  for (const result of results) {
    if (!Array.isArray(result) || result.length !== 5 || result[2] !== null) return null;
    const values: unknown = result[1];
    if (Array.isArray(values)) {
      for (let i = 0; i < values.length; i++) {
        if (typeof values[i] !== "number" || !(i in values)) return null;
      }
    } else if (!(values instanceof Float64Array)) return null;
    size += 4 + (values as ArrayLike<number>).length;
  }
  if (size * 8 >= NUMBERS) return null;
  const doubles = new Float64Array(size);
  doubles[0] = results.length;
  let at = 1;
  for (const result of results as [number, ArrayLike<number>, null, number, number][]) {
    const [id, values, , start, end] = result;
    doubles[at] = id;
    doubles[at + 1] = start;
    doubles[at + 2] = end;
    doubles[at + 3] = values.length;
    doubles.set(values, at + 4);
    at += 4 + values.length;
  }
  return doubles;
}

/** Results from a frame of doubles: each result's values a `Float64Array` of their own. */
function fromDoubles(body: Uint8Array): unknown[] {
  const doubles = new Float64Array(
    body.buffer.slice(body.byteOffset, body.byteOffset + body.length) as ArrayBuffer,
  );
  const results: unknown[] = [];
  for (let k = 0, at = 1; k < doubles[0]; k++) {
    const n = doubles[at + 3];
    results.push([
      doubles[at],
      doubles.slice(at + 4, at + 4 + n),
      null,
      doubles[at + 1],
      doubles[at + 2],
    ]);
    at += 4 + n;
  }
  return results;
}

/**
 * Reads frames from a stream of bytes that arrive in pieces of any size.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameReader } from "./_frames.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new Uint8Array([...encodeFrame({ a: 1 }), ...encodeFrame([NaN, -0])]);
 * const reader = new FrameReader();
 * const seen: unknown[] = [];
 * reader.push(bytes.subarray(0, 5), (m) => seen.push(m));
 * reader.push(bytes.subarray(5), (m) => seen.push(m));
 * assert.deepEqual(seen, [{ a: 1 }, [NaN, -0]]);
 * ```
 */
export class FrameReader {
  /** Bytes received and not yet read, in the pieces they came in. */
  #pieces: Uint8Array[] = [];
  #size = 0;
  /** The length of the frame being gathered, once its header is in; else -1. */
  #length = -1;
  /** Whether that frame holds results as doubles. */
  #doubles = false;

  /**
   * Takes the next bytes and hands each message they complete to `receive`, in order.
   * A frame is copied out of its pieces once, when it is whole: a large
   * message arriving in many small pieces costs its size, not its size
   * times the number of pieces.
   *
   * @param bytes The bytes that arrived.
   * @param receive Called with each whole message.
   */
  push(bytes: Uint8Array, receive: (message: unknown) => void): void {
    this.#pieces.push(bytes);
    this.#size += bytes.length;
    while (true) {
      if (this.#length < 0) {
        if (this.#size < HEADER) return;
        const header = this.#take(HEADER);
        const length = new DataView(header.buffer, header.byteOffset).getUint32(0, true);
        this.#doubles = (length & NUMBERS) !== 0;
        this.#length = length & ~NUMBERS;
      }
      if (this.#size < this.#length) return;
      const body = this.#take(this.#length);
      this.#length = -1;
      receive(this.#doubles ? fromDoubles(body) : deserialize(body));
    }
  }

  /** The next `n` bytes, removed from the pieces. */
  #take(n: number): Uint8Array {
    const first = this.#pieces[0];
    if (first.length >= n) {
      // The common case: the bytes lie in one piece, and need no copy.
      if (first.length === n) this.#pieces.shift();
      else this.#pieces[0] = first.subarray(n);
      this.#size -= n;
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const piece = this.#pieces[0];
      const used = Math.min(piece.length, n - at);
      out.set(piece.subarray(0, used), at);
      at += used;
      if (used === piece.length) this.#pieces.shift();
      else this.#pieces[0] = piece.subarray(used);
    }
    this.#size -= n;
    return out;
  }
}
