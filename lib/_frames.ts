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
  #pending: Uint8Array = new Uint8Array(0);

  /**
   * Takes the next bytes and hands each message they complete to `receive`, in order.
   *
   * @param bytes The bytes that arrived.
   * @param receive Called with each whole message.
   */
  push(bytes: Uint8Array, receive: (message: unknown) => void): void {
    let data = bytes;
    if (this.#pending.length > 0) {
      data = new Uint8Array(this.#pending.length + bytes.length);
      data.set(this.#pending);
      data.set(bytes, this.#pending.length);
    }
    let at = 0;
    while (data.length - at >= HEADER) {
      const length = new DataView(data.buffer, data.byteOffset + at).getUint32(0, true);
      if (data.length - at - HEADER < length) break;
      const message = deserialize(data.subarray(at + HEADER, at + HEADER + length));
      at += HEADER + length;
      receive(message);
    }
    this.#pending = at === data.length ? new Uint8Array(0) : data.slice(at);
  }
}
