/**
 * The result board, both sides at once in one thread: what a worker puts
 * there is what the pool reads, once, and nothing read survives an emptying.
 */
import assert from "node:assert/strict";
import { clearBoard, postOnBoard } from "../lib/worker/board.ts";
import type { WorkerState } from "../lib/worker/state.ts";
import { ResultBoard } from "../lib/transport/result_board.ts";
import { BOARD, type ChunkResult } from "../lib/_protocol.ts";

/** A worker state with only what the board pieces read. */
function workerWith(board: ResultBoard, held: ChunkResult[]): WorkerState {
  return {
    board: board.memory,
    held,
    // Results done long ago, on the shared clock: old enough to be read.
    origin: 0,
    heldSince: 0,
    boarded: 0,
    boardSlots: 0,
    boardChars: 0,
  } as unknown as WorkerState;
}

Deno.test("the result board carries primitive results as they were", () => {
  const board = new ResultBoard();
  const sparse: unknown[] = [1, , 3];
  const held: ChunkResult[] = [
    [7, [1.5, -0, NaN, Infinity, undefined, null, true, false, "", "héllo ✓"], null, 10, 11],
    [8, sparse, null, 11, 12],
    [9, new Float64Array([4, 5]), null, 12, 13],
  ];
  const w = workerWith(board, held);
  assert.equal(postOnBoard(w), true);
  const read = board.read();
  assert.deepEqual(read.map(([id, , , start, end]) => [id, start, end]), [
    [7, 10, 11],
    [8, 11, 12],
    [9, 12, 13],
  ]);
  assert.deepEqual(read[0][1], [
    1.5,
    -0,
    NaN,
    Infinity,
    undefined,
    null,
    true,
    false,
    "",
    "héllo ✓",
  ]);
  assert.ok(Object.is(read[0][1][1], -0));
  assert.ok(!(1 in read[1][1]), "a hole stays a hole");
  assert.deepEqual(read[2][1], [4, 5]);
  assert.deepEqual(board.read(), [], "each result is read once");
});

Deno.test("the result board takes results held later, and refuses what it cannot carry", () => {
  const board = new ResultBoard();
  const held: ChunkResult[] = [[1, [1], null, 0, 0]];
  const w = workerWith(board, held);
  assert.equal(postOnBoard(w), true);
  held.push([2, [2], null, 0, 0]);
  assert.equal(postOnBoard(w), true);
  assert.deepEqual(board.read().map(([id]) => id), [1, 2]);
  for (
    const value of [
      1n,
      Symbol("s"),
      "x".repeat(BOARD.STRING_MAX + 1),
      () => {},
      new Map(),
      new Date(0),
      [1, , 3],
      { a: undefined },
      { a: -0 },
      [NaN],
      { toJSON: () => 1 },
      new Uint8Array(2),
      Array.from({ length: BOARD.JSON_VALUES + 1 }, () => 1),
      {
        get a() {
          throw new Error("no");
        },
      },
    ]
  ) {
    held.push([3, [value], null, 0, 0]);
    assert.equal(postOnBoard(w), false, String(typeof value));
    held.pop();
  }
  held.push([4, [1], [{ index: 0, error: {} as never }], 0, 0]);
  assert.equal(postOnBoard(w), false, "failed items are sent");
  held.pop();
  held.push([5, new Array(BOARD.SLOTS).fill(0), null, 0, 0]);
  assert.equal(postOnBoard(w), false, "no room");
});

Deno.test("an emptied board drops what was read of the old one, and starts again", () => {
  const board = new ResultBoard();
  const w = workerWith(board, [[1, [1], null, 0, 0]]);
  postOnBoard(w);
  clearBoard(w);
  w.held = [[2, ["two"], null, 0, 0]];
  postOnBoard(w);
  assert.deepEqual(board.read().map(([id, values]) => [id, values]), [[2, ["two"]]]);
  clearBoard(w);
  assert.deepEqual(board.read(), []);
});

Deno.test("the result board carries plain data as JSON carries it exactly", () => {
  const board = new ResultBoard();
  const values = [{}, [], { a: 1, b: [true, null, "x"], c: { d: -1.5 } }, [[1], [2]]];
  const w = workerWith(board, [[1, values, null, 0, 0]]);
  assert.equal(postOnBoard(w), true);
  assert.deepEqual(board.read()[0][1], values);
});

Deno.test("the result board carries what structuredClone gives: a getter read once", () => {
  const board = new ResultBoard();
  let reads = 0;
  const counter = {
    get a() {
      return ++reads;
    },
  };
  const w = workerWith(board, [[1, [counter], null, 0, 0]]);
  assert.equal(postOnBoard(w), true);
  assert.deepEqual(board.read()[0][1], [{ a: 1 }]);
  assert.equal(reads, 1);
  // A null prototype and symbol keys are dropped, as structuredClone drops them.
  const more = workerWith(board, [[2, [Object.create(null), { [Symbol("s")]: 1 }], null, 0, 0]]);
  clearBoard(w);
  assert.equal(postOnBoard(more), true);
  const [[, values]] = board.read();
  assert.deepEqual(values, [{}, {}]);
  assert.equal(Object.getPrototypeOf(values[0]), Object.prototype);
});

Deno.test("a held result is cloned once: the message carries the copy the board saw", () => {
  const board = new ResultBoard();
  let reads = 0;
  const withMap = {
    get a() {
      return ++reads;
    },
    m: new Map([[1, 2]]),
  };
  const values: unknown[] = [withMap];
  const w = workerWith(board, [[1, values, null, 0, 0]]);
  // Not plain data: it is sent, and what is sent is its copy.
  assert.equal(postOnBoard(w), false);
  assert.notEqual(values[0], withMap);
  assert.deepEqual(structuredClone(values[0]), { a: 1, m: new Map([[1, 2]]) });
  assert.equal(reads, 1);
  const plain = { b: [1, 2] };
  const onBoard: unknown[] = [plain];
  w.held = [[2, onBoard, null, 0, 0]];
  w.boarded = 0;
  assert.equal(postOnBoard(w), true);
  assert.notEqual(onBoard[0], plain, "the message carries the board's copy too");
  assert.deepEqual(onBoard[0], plain);
});

Deno.test("the pool leaves results under 2 ms old on the board to their message", async () => {
  const board = new ResultBoard();
  const w = workerWith(board, [[1, [1], null, 0, 0]]);
  (w as { origin: number }).origin = performance.timeOrigin;
  w.heldSince = performance.now();
  assert.equal(postOnBoard(w), true);
  assert.deepEqual(board.read(), [], "too young");
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(board.read().map(([id]) => id), [1]);
});

Deno.test("a batch of many objects is sent, none copied for the board", () => {
  const board = new ResultBoard();
  let reads = 0;
  const values = Array.from({ length: BOARD.OBJECTS_MAX + 1 }, () => ({
    get a() {
      return ++reads;
    },
  }));
  const w = workerWith(board, [[1, values, null, 0, 0]]);
  assert.equal(postOnBoard(w), false);
  assert.equal(reads, 0, "no getter read: the message reads each once");
});
