/** Frames over a byte stream, as a worker process sends its results. */
import assert from "node:assert/strict";
import { encodeFrame, encodeResultsFrame, FrameReader } from "../lib/_frames.ts";

function readAll(...frames: Uint8Array[]): unknown[] {
  const bytes = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const frame of frames) bytes.set(frame, (at += frame.length) - frame.length);
  const seen: unknown[] = [];
  const reader = new FrameReader();
  // In pieces of 3 bytes: no frame arrives whole, nor aligned.
  for (let i = 0; i < bytes.length; i += 3) reader.push(bytes.slice(i, i + 3), (m) => seen.push(m));
  return seen;
}

Deno.test("encodeResultsFrame() sends results of numbers as doubles, read back as they were", () => {
  const results = [
    [4, [1.5, -0, NaN, -Infinity], null, 10.25, 11.5],
    [5, new Float64Array([7, 8]), null, 12, 13],
  ];
  const [read] = readAll(encodeResultsFrame(results), encodeFrame({ type: "next" })) as [
    [number, Float64Array, null, number, number][],
  ];
  assert.equal(read.length, 2);
  assert.deepEqual(read.map(([id, , errors, start, end]) => [id, errors, start, end]), [
    [4, null, 10.25, 11.5],
    [5, null, 12, 13],
  ]);
  assert.deepEqual([...read[0][1]], [1.5, -0, NaN, -Infinity]);
  assert.ok(Object.is(read[0][1][1], -0));
  assert.deepEqual([...read[1][1]], [7, 8]);
});

Deno.test("encodeResultsFrame() sends any other results as V8 serializes them", () => {
  const cases: unknown[][] = [
    [[1, ["a"], null, 0, 0]],
    [[1, [1, , 3], null, 0, 0]],
    [[1, [1], [{ index: 0 }], 0, 0]],
    [[1, [1n], null, 0, 0]],
  ];
  for (const results of cases) {
    assert.deepEqual(readAll(encodeResultsFrame(results)), [results]);
  }
  const [sparse] = readAll(encodeResultsFrame(cases[1])) as [[number, unknown[]][]];
  assert.ok(!(1 in sparse[0][1]), "a hole stays a hole");
});
