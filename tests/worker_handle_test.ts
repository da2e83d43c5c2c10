/** The engine's bookkeeping of a worker, over a link that may or may not take chunks back. */
import assert from "node:assert/strict";
import type { Call, Chunk } from "../lib/engine/call.ts";
import { FunctionTable } from "../lib/engine/functions.ts";
import { WorkerHandle } from "../lib/engine/worker_handle.ts";
import type { Claim, TakeBack, WorkerLink } from "../lib/transport/link.ts";
import type { ChunkResult, ToWorker } from "../lib/_protocol.ts";

/** A link that records what is posted and answers each take-back from `stands`, by chunk tag. */
class FakeLink implements WorkerLink {
  posted: ToWorker[] = [];
  stands = new Map<number, TakeBack>();
  /** What the next `readBoard()` gives. */
  board: ChunkResult[] = [];
  #claimed = 0;
  claim(chunk: Claim): void {
    chunk.slot = this.#claimed;
    chunk.tag = ++this.#claimed;
  }
  post(message: ToWorker): void {
    this.posted.push(message);
  }
  takeBack(chunk: Readonly<Claim>): TakeBack {
    return this.stands.get(chunk.tag) ?? "taken";
  }
  readBoard(): ChunkResult[] {
    const results = this.board;
    this.board = [];
    return results;
  }
  terminate(): void {}
}

function call(fnId: number): Call {
  return { fnId, spread: false, settle: false } as unknown as Call;
}

function chunk(id: number, of: Call): Chunk {
  return { id, call: of, start: id * 10, items: [id], crashes: 0, slot: -1, tag: 0 };
}

function setup(): { link: FakeLink; handle: WorkerHandle; functions: FunctionTable } {
  const link = new FakeLink();
  const functions = new FunctionTable();
  functions.idOf({ kind: "source", source: "(n) => n", name: "" });
  functions.idOf({ kind: "source", source: "(n) => -n", name: "" });
  return { link, handle: new WorkerHandle(1, link), functions };
}

Deno.test("WorkerHandle.send() defines each function once, then posts the batch and holds it", () => {
  const { link, handle, functions } = setup();
  const [a, b] = [call(0), call(1)];
  handle.send([chunk(1, a), chunk(2, b)], functions);
  handle.send([chunk(3, a)], functions);
  assert.deepEqual(link.posted, [
    { type: "define", fnId: 0, spec: functions.get(0) },
    { type: "define", fnId: 1, spec: functions.get(1) },
    [[1, 0, 1, 0, false, false, [1]], [2, 1, 2, 1, false, false, [2]]],
    [[3, 2, 3, 0, false, false, [3]]],
  ]);
  assert.equal(handle.held, 3);
  assert.equal(handle.sent, 3);
});

Deno.test("WorkerHandle.send() holds nothing when the batch cannot be posted", () => {
  const { link, handle, functions } = setup();
  link.post = (message) => {
    if (Array.isArray(message)) throw new DOMException("cannot clone", "DataCloneError");
  };
  assert.throws(() => handle.send([chunk(1, call(0))], functions), DOMException);
  assert.equal(handle.held, 0);
  assert.equal(handle.sent, 0);
});

Deno.test("WorkerHandle.takeBackLast() takes from the back up to the first chunk it cannot", async (t) => {
  for (const stand of ["running", "done", "unknown"] as const) {
    await t.step(stand, () => {
      const { link, handle, functions } = setup();
      const chunks = [1, 2, 3, 4].map((id) => chunk(id, call(0)));
      handle.send(chunks, functions);
      link.stands.set(chunks[1].tag, stand);
      assert.deepEqual(handle.takeBackLast(3), [chunks[2], chunks[3]]);
      assert.deepEqual(handle.drain(), [chunks[0], chunks[1]]);
      // Taken back: never run, so not counted against maxTasksPerChild.
      assert.equal(handle.sent, 2);
    });
  }
});

Deno.test("WorkerHandle.withdraw() drops a call's unstarted chunks and says whether one may run", async (t) => {
  const cases: [TakeBack, boolean, number[]][] = [
    ["taken", false, [1, 3]],
    ["done", false, [1, 2, 3]],
    ["running", true, [1, 2, 3]],
    // A link without shared memory cannot tell: the worker must end for the call to stop.
    ["unknown", true, [1, 2, 3]],
  ];
  for (const [stand, running, kept] of cases) {
    await t.step(stand, () => {
      const { link, handle, functions } = setup();
      const [other, aborted] = [call(0), call(1)];
      const chunks = [chunk(1, other), chunk(2, aborted), chunk(3, other)];
      handle.send(chunks, functions);
      link.stands.set(chunks[1].tag, stand);
      assert.equal(handle.withdraw(aborted), running);
      assert.deepEqual(handle.drain().map((c) => c.id), kept);
    });
  }
});

Deno.test("WorkerHandle.takeBoarded() takes the boarded chunks from its line, wherever they are", () => {
  const { link, handle, functions } = setup();
  const a = call(0);
  const chunks = [chunk(1, a), chunk(2, a), chunk(3, a), chunk(4, a)];
  handle.send(chunks, functions);
  // Chunk 1's message is on its way; 2 and 3 are on the board; 9 is not in the line.
  link.board = [[2, [20], null, 0, 1], [3, [30], null, 1, 2], [9, [90], null, 2, 3]];
  const taken = handle.takeBoarded();
  assert.deepEqual(taken.map(({ chunk }) => chunk.id), [2, 3]);
  assert.deepEqual(taken.map(({ result }) => result[1]), [[20], [30]]);
  assert.deepEqual([...handle.boarded], [2, 3]);
  assert.deepEqual(handle.drain().map((c) => c.id), [1, 4]);
  assert.deepEqual(handle.takeBoarded(), [], "an empty board takes nothing");
});
