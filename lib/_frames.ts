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
        this.#length = new DataView(header.buffer, header.byteOffset).getUint32(0, true);
      }
      if (this.#size < this.#length) return;
      const body = this.#take(this.#length);
      this.#length = -1;
      receive(deserialize(body));
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
