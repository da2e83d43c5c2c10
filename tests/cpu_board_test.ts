import assert from "node:assert/strict";
import { CpuBoard } from "../lib/_cpu_board.ts";
import { workerMain } from "../lib/worker_main.ts";

Deno.test("a CpuBoard hands out each slot once, and -1 when all are taken", () => {
  const board = new CpuBoard(3);
  const slots = [board.take(), board.take(), board.take()];
  assert.deepEqual([...slots].sort(), [0, 1, 2]);
  assert.equal(board.take(), -1);
});

Deno.test("a CpuBoard slot given back is cleared and handed out again", () => {
  const board = new CpuBoard(2);
  const slot = board.take();
  board.take();
  Atomics.store(board.slots, slot, 1);
  board.give(slot);
  assert.equal(board.slots[slot], 0);
  assert.equal(board.take(), slot);
  board.give(-1);
  assert.equal(board.take(), -1);
});

Deno.test("a worker marks its board slot while it runs a batch and clears it once idle", async () => {
  const board = new CpuBoard(2);
  const slot = board.take();
  const posted = new Int32Array(new SharedArrayBuffer(4));
  const url = URL.createObjectURL(
    new Blob([`(${workerMain.toString()})();`], { type: "application/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  const post = (message: unknown) => {
    worker.postMessage(message);
    Atomics.add(posted, 0, 1);
  };
  try {
    const answered = new Promise<void>((resolve) => worker.onmessage = () => resolve());
    post({
      type: "init",
      workerId: 1,
      stop: new Int32Array(new SharedArrayBuffer(4)),
      awake: { posted, board: board.slots, slot },
      initializer: null,
      initArgs: [],
    });
    // The task waits until the test has seen the slot marked, then returns.
    const seen = new Int32Array(new SharedArrayBuffer(4));
    post({
      type: "define",
      fnId: 0,
      spec: { kind: "source", name: "wait", source: "(seen) => Atomics.wait(seen, 0, 0)" },
    });
    post([[0, 0, 1, 0, false, false, [seen]]]);
    const deadline = AbortSignal.timeout(10_000);
    while (Atomics.load(board.slots, slot) !== 1) {
      assert.ok(!deadline.aborted, "the slot was never marked");
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    Atomics.store(seen, 0, 1);
    Atomics.notify(seen, 0);
    await answered;
    while (Atomics.load(board.slots, slot) !== 0) {
      assert.ok(!deadline.aborted, "the slot stayed marked");
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});
