/**
 * Fault injection: thousands of items in which some throw, some kill their
 * worker in different ways at random points, and some are slow. Every item
 * must come back, right and in place, or be reported with its index and cause.
 */
import assert from "node:assert/strict";
import { type Settled, TaskError, WorkerCrashedError } from "../lib/mod.ts";
import { Pool, threadsOnly } from "./_pool.ts";
import { seededRandom } from "./_random.ts";

type Fault =
  | "none"
  | "slow"
  | "throw"
  | "crash-always"
  | "crash-once";

type Death = "exit" | "close" | "timer-throw" | "rejection";

interface Item {
  readonly index: number;
  readonly fault: Fault;
  readonly death: Death;
  /** Shared by every item: how many times each item has started. */
  readonly starts: Int32Array;
}

/** The task: squares the index, unless the item says to fail. */
function faulty(item: Item): number | Promise<number> {
  const started = Atomics.add(item.starts, item.index, 1);
  const die = () => {
    switch (item.death) {
      case "exit":
        Deno.exit(1);
        break;
      case "close":
        self.close();
        // close() lets the current task finish; block until the worker ends.
        for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      case "timer-throw":
        setTimeout(() => {
          throw new Error(`uncaught in a timer at ${item.index}`);
        });
        return new Promise<number>(() => {});
      case "rejection":
        Promise.reject(new Error(`unhandled rejection at ${item.index}`));
        return new Promise<number>(() => {});
    }
  };
  switch (item.fault) {
    case "throw":
      throw new RangeError(`bad item ${item.index}`);
    case "crash-always":
      return die() ?? 0;
    case "crash-once":
      if (started === 0) return die() ?? 0;
      break;
    case "slow":
      return new Promise((resolve) =>
        setTimeout(() => resolve(item.index ** 2), 1 + item.index % 5)
      );
  }
  return item.index ** 2;
}

const ITEMS = 10_000;
const SEED = 20261124;

function makeItems(): Item[] {
  const random = seededRandom(SEED);
  const deaths: Death[] = ["exit", "close", "timer-throw", "rejection"];
  const starts = new Int32Array(new SharedArrayBuffer(4 * ITEMS));
  return Array.from({ length: ITEMS }, (_, index) => {
    const roll = random();
    const fault: Fault = roll < 0.02
      ? "throw"
      : roll < 0.022
      ? "crash-always"
      : roll < 0.027
      ? "crash-once"
      : roll < 0.037
      ? "slow"
      : "none";
    return { index, fault, death: deaths[Math.floor(random() * deaths.length)], starts };
  });
}

Deno.test(
  threadsOnly(
    "`Pool.mapSettled()` over 10,000 faulty items loses nothing and reports every failure",
  ),
  async () => {
    const items = makeItems();
    const counts = Object.groupBy(items, (item) => item.fault);
    // The seed gives every kind of fault, each kind of death among the crashes.
    for (const fault of ["throw", "crash-always", "crash-once", "slow"] as const) {
      assert.ok((counts[fault]?.length ?? 0) >= 10, `${fault}: ${counts[fault]?.length}`);
    }
    const crashDeaths = new Set(counts["crash-always"]?.map((item) => item.death));
    assert.equal(crashDeaths.size, 4);

    const pool = new Pool({ workers: 2, maxCrashes: 2 });
    // A deadline turns a hang into a failure with a reason.
    const settled: Settled<number>[] = await pool.mapSettled(faulty, items, {
      chunkSize: 16,
      signal: AbortSignal.timeout(60_000),
    });

    assert.equal(settled.length, ITEMS);
    for (const item of items) {
      const outcome = settled[item.index];
      const where = `item ${item.index} (${item.fault}, ${item.death})`;
      if (item.fault === "throw") {
        assert.equal(outcome.status, "rejected", where);
        const reason = (outcome as { reason: unknown }).reason;
        assert.ok(reason instanceof TaskError, where);
        assert.equal(reason.index, item.index, where);
        assert.ok(reason.cause instanceof RangeError, where);
        assert.equal(reason.cause.message, `bad item ${item.index}`, where);
      } else if (item.fault === "crash-always") {
        assert.equal(outcome.status, "rejected", where);
        const reason = (outcome as { reason: unknown }).reason;
        assert.ok(reason instanceof WorkerCrashedError, `${where}: ${reason}`);
        assert.equal(reason.index, item.index, where);
        assert.match(reason.message, new RegExp(`\\b${item.index}\\b`), where);
        // It was tried once per allowed crash, and no more.
        assert.equal(Atomics.load(item.starts, item.index), 2, where);
      } else {
        // Plain, slow and once-crashing items all end with the right value.
        assert.deepEqual(outcome, { status: "fulfilled", value: item.index ** 2 }, where);
      }
    }
    // Only crash victims run twice: the results finished before a worker died
    // are kept, not recomputed.
    const neverCrashed = items.filter((item) => item.fault === "none" || item.fault === "throw");
    const retried = neverCrashed.filter((item) => Atomics.load(item.starts, item.index) !== 1);
    assert.deepEqual(retried.map((item) => item.index), []);

    await pool.close();
    await pool.join();
    assert.equal(pool.liveWorkers, 0);
  },
);
