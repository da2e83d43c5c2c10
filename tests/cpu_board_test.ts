import assert from "node:assert/strict";
import { CpuBoard } from "../lib/transport/cpu_board.ts";

Deno.test("`CpuBoard.take()` hands out each slot once, and -1 when all are taken", () => {
  const board = new CpuBoard(3);
  const slots = [board.take(), board.take(), board.take()];
  assert.deepEqual([...slots].sort(), [0, 1, 2]);
  assert.equal(board.take(), -1);
});

Deno.test("`CpuBoard.give()` clears a slot, which is then handed out again", () => {
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
