/**
 * Fault injection against worker processes: the fault-injection map of
 * `fault_injection_test.ts`, with what its tasks share with the test (how
 * many times each item started) kept in files, as a process shares no
 * memory with its pool. Every item must come back, right and in place, or
 * be reported with its index and cause; only crash victims run twice.
 */
import assert from "node:assert/strict";
import { Pool, type Settled, TaskError, WorkerCrashedError } from "../lib/mod.ts";
import { bounded } from "./_deadline.ts";
import { RUN_DENO } from "./_io.ts";
import { needs } from "./_needs.ts";
import { seededRandom } from "./_random.ts";

type Fault = "none" | "slow" | "throw" | "crash-always" | "crash-once";
type Death = "exit" | "close" | "timer-throw" | "rejection";

interface Item {
  readonly index: number;
  readonly fault: Fault;
  readonly death: Death;
  /** A folder where each start of item `i` appends a line to the file `i`. */
  readonly starts: string;
}

/** The task: squares the index, unless the item says to fail. */
function faulty(item: Item): number | Promise<number> {
  const file = `${item.starts}/${item.index}`;
  let started = 0;
  try {
    started = Deno.readTextFileSync(file).length;
  } catch {
    // Its first start.
  }
  Deno.writeTextFileSync(file, "x", { append: true });
  const die = () => {
    switch (item.death) {
      case "exit":
        Deno.exit(1);
        break;
      case "close":
        (globalThis as unknown as { close(): void }).close();
        break;
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

const ITEMS = 2_000;
const SEED = 20261128;

function makeItems(starts: string): Item[] {
  const random = seededRandom(SEED);
  const deaths: Death[] = ["exit", "close", "timer-throw", "rejection"];
  return Array.from({ length: ITEMS }, (_, index) => {
    const roll = random();
    const fault: Fault = roll < 0.02
      ? "throw"
      : roll < 0.03
      ? "crash-always"
      : roll < 0.04
      ? "crash-once"
      : roll < 0.06
      ? "slow"
      : "none";
    return { index, fault, death: deaths[Math.floor(random() * deaths.length)], starts };
  });
}

const scratch = new URL("../.scratch/", import.meta.url);

Deno.test({
  ...needs(
    "`Pool.mapSettled()` on worker processes over 2,000 faulty items loses nothing and reports every failure",
    RUN_DENO,
    { name: "write", path: scratch },
    { name: "read", path: scratch },
  ),
  fn: bounded(async () => {
    await Deno.mkdir(scratch, { recursive: true });
    const starts = await Deno.makeTempDir({ dir: scratch.pathname, prefix: "starts-" });
    try {
      const items = makeItems(starts);
      const counts = Object.groupBy(items, (item) => item.fault);
      for (const fault of ["throw", "crash-always", "crash-once", "slow"] as const) {
        assert.ok((counts[fault]?.length ?? 0) >= 10, `${fault}: ${counts[fault]?.length}`);
      }
      assert.equal(new Set(counts["crash-always"]?.map((item) => item.death)).size, 4);
      const startsOf = (item: Item) => {
        try {
          return Deno.readTextFileSync(`${starts}/${item.index}`).length;
        } catch {
          return 0;
        }
      };

      await using pool = new Pool({
        workers: 2,
        maxCrashes: 2,
        isolation: "process",
        permissions: { read: [starts], write: [starts] },
      });
      const settled: Settled<number>[] = await pool.mapSettled(faulty, items, { chunkSize: 16 });

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
        } else if (item.fault === "crash-always") {
          assert.equal(outcome.status, "rejected", where);
          const reason = (outcome as { reason: unknown }).reason;
          assert.ok(reason instanceof WorkerCrashedError, `${where}: ${reason}`);
          assert.equal(reason.index, item.index, where);
          assert.equal(startsOf(item), 2, where);
        } else {
          assert.deepEqual(outcome, { status: "fulfilled", value: item.index ** 2 }, where);
        }
      }
      const neverCrashed = items.filter((item) => item.fault === "none" || item.fault === "throw");
      const retried = neverCrashed.filter((item) => startsOf(item) !== 1);
      assert.deepEqual(retried.map((item) => item.index), []);
    } finally {
      await Deno.remove(starts, { recursive: true });
    }
  }, 120_000),
});
