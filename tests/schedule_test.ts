/** The scheduler's pure choices: windows, batches and rebalancing. */
import assert from "node:assert/strict";
import {
  averageChunkMs,
  batchCap,
  byLoad,
  type Limits,
  type Load,
  MAX_WINDOW,
  MIN_WINDOW,
  planBatches,
  planRebalance,
  room,
  windowFor,
} from "../lib/engine/schedule.ts";

interface Worker extends Load {
  readonly name: string;
}

function worker(name: string, load: Partial<Load> = {}): Worker {
  return { name, held: 0, sent: 0, retiring: false, lastSent: 0, ...load };
}

/** A `next()` that hands out `items` in order, and the items it has not handed out. */
function source<T>(items: readonly T[]): { next: () => T | undefined; left: () => T[] } {
  let at = 0;
  return { next: () => items[at++], left: () => items.slice(at) };
}

const limits: Limits = { window: 8, maxTasksPerChild: Infinity };

Deno.test("averageChunkMs() starts at the first chunk's time, then weighs the newest a fifth", () => {
  assert.equal(averageChunkMs(-1, 3), 3);
  assert.equal(averageChunkMs(10, 5), 9);
  assert.equal(averageChunkMs(0, 10), 2);
});

Deno.test("windowFor() holds about 2 ms of work, between MIN_WINDOW and MAX_WINDOW chunks", () => {
  assert.equal(MIN_WINDOW, 2);
  assert.equal(MAX_WINDOW, 512);
  assert.equal(windowFor(0.5), 4);
  assert.equal(windowFor(0.3), 7);
  assert.equal(windowFor(0.01), 200);
  // Slow chunks: still the one running and the next.
  assert.equal(windowFor(1), 2);
  assert.equal(windowFor(50), 2);
  // Tiny chunks, even ones timed at 0 ms: capped.
  assert.equal(windowFor(0.002), 512);
  assert.equal(windowFor(0), 512);
});

Deno.test("batchCap() is half the window, and at least one", () => {
  assert.equal(batchCap(2), 1);
  assert.equal(batchCap(3), 1);
  assert.equal(batchCap(9), 4);
  assert.equal(batchCap(512), 256);
  assert.equal(batchCap(1), 1);
});

Deno.test("room() is what the window and maxTasksPerChild leave, never below 0", async (t) => {
  await t.step("by the window", () => {
    assert.equal(room(worker("a"), limits), 8);
    assert.equal(room(worker("a", { held: 5 }), limits), 3);
    assert.equal(room(worker("a", { held: 9 }), limits), 0);
  });
  await t.step("by the worker's life", () => {
    const life: Limits = { window: 8, maxTasksPerChild: 10 };
    assert.equal(room(worker("a", { held: 1, sent: 7 }), life), 3);
    assert.equal(room(worker("a", { sent: 10 }), life), 0);
  });
  await t.step("none for a retiring worker", () => {
    assert.equal(room(worker("a", { retiring: true }), limits), 0);
  });
});

Deno.test("byLoad() puts the least loaded first, and among equals the one sent to last", () => {
  const workers = [
    worker("busy", { held: 3, lastSent: 9 }),
    worker("early", { held: 1, lastSent: 2 }),
    worker("late", { held: 1, lastSent: 7 }),
    worker("empty", { held: 0, lastSent: 1 }),
  ];
  assert.deepEqual(workers.sort(byLoad).map((w) => w.name), ["empty", "late", "early", "busy"]);
});

Deno.test("planBatches() deals chunks in turn, in batches of up to the cap", async (t) => {
  await t.step("every room filled", () => {
    const chunks = source(["a", "b", "c", "d", "e"]);
    assert.deepEqual(planBatches([3, 2], 2, chunks.next), [[["a", "c"], ["e"]], [["b", "d"]]]);
    assert.deepEqual(chunks.left(), []);
  });
  await t.step("fewer chunks than room", () => {
    const chunks = source(["a", "b", "c"]);
    assert.deepEqual(planBatches([4, 4], 4, chunks.next), [[["a", "c"]], [["b"]]]);
  });
  await t.step("more chunks than room: the rest stay queued", () => {
    const chunks = source(["a", "b", "c", "d", "e", "f"]);
    assert.deepEqual(planBatches([1, 3], 2, chunks.next), [[["a"]], [["b", "c"], ["d"]]]);
    assert.deepEqual(chunks.left(), ["e", "f"]);
  });
  await t.step("a worker with no room gets nothing", () => {
    const chunks = source(["a", "b", "c"]);
    assert.deepEqual(planBatches([0, 2], 1, chunks.next), [[], [["a"], ["b"]]]);
    assert.deepEqual(chunks.left(), ["c"]);
  });
  await t.step("no workers, or no chunks", () => {
    assert.deepEqual(planBatches([], 1, source(["a"]).next), []);
    assert.deepEqual(planBatches([2, 2], 1, source([]).next), [[], []]);
  });
  await t.step("the rooms given are left as they were", () => {
    const rooms = [2, 1];
    planBatches(rooms, 1, source(["a", "b", "c"]).next);
    assert.deepEqual(rooms, [2, 1]);
  });
});

Deno.test("planRebalance() sends the first idle worker half of what the busiest holds", async (t) => {
  await t.step("half, rounded down", () => {
    const idle = worker("idle");
    const busiest = worker("busiest", { held: 7 });
    const plan = planRebalance([worker("some", { held: 2 }), busiest, idle], limits);
    assert.deepEqual(plan, { from: busiest, to: idle, count: 3 });
  });
  await t.step("the only chunk of a worker holding one", () => {
    const idle = worker("idle");
    const one = worker("one", { held: 1 });
    assert.deepEqual(planRebalance([idle, one], limits), { from: one, to: idle, count: 1 });
  });
  await t.step("no more than the idle worker has room for", () => {
    const idle = worker("idle", { sent: 8 });
    const busiest = worker("busiest", { held: 8 });
    const life: Limits = { window: 8, maxTasksPerChild: 10 };
    assert.deepEqual(planRebalance([busiest, idle], life), { from: busiest, to: idle, count: 2 });
  });
  await t.step("the first of equally busy workers, the first idle one", () => {
    const [a, b, c, d] = [
      worker("a", { held: 4 }),
      worker("b"),
      worker("c", { held: 4 }),
      worker("d"),
    ];
    assert.deepEqual(planRebalance([a, b, c, d], limits), { from: a, to: b, count: 2 });
  });
  await t.step("nothing when no worker is idle", () => {
    assert.equal(planRebalance([worker("a", { held: 1 }), worker("b", { held: 4 })], limits), null);
  });
  await t.step("nothing when no worker holds anything", () => {
    assert.equal(planRebalance([worker("a"), worker("b")], limits), null);
  });
  await t.step("a retiring worker takes nothing, but is taken from", () => {
    const retiring = worker("retiring", { held: 4, retiring: true });
    const spent = worker("spent", { retiring: true });
    const idle = worker("idle");
    assert.deepEqual(planRebalance([spent, retiring, idle], limits), {
      from: retiring,
      to: idle,
      count: 2,
    });
    assert.equal(planRebalance([spent, retiring], limits), null);
  });
  await t.step("nothing when the idle worker has no room left in its life", () => {
    const life: Limits = { window: 8, maxTasksPerChild: 5 };
    assert.equal(
      planRebalance([worker("idle", { sent: 5 }), worker("b", { held: 4 })], life),
      null,
    );
  });
});
