/**
 * A cluster counts crashes by item, as a local pool does: the item a node
 * (or a node's worker) was running when it died counts one crash, finished
 * items of its chunk are not run again, and an abort stops the chunks that
 * are running. Each task reports its starts to a counter served by the test.
 */

import assert from "node:assert/strict";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { type MapOptions, type Settled, WorkerCrashedError } from "../lib/mod.ts";
import { Cluster, clusterTest } from "./_cluster.ts";
import { within } from "./_deadline.ts";

/** Generous: a hang fails, a slow machine does not. */
const LONG_MS = 30_000;

/** Counts the starts of each item: a task fetches `/ITEM` and gets the count so far. */
class StartCounter {
  readonly url: string;
  readonly starts = new Map<number, number>();
  #server: Deno.HttpServer<Deno.NetAddr>;
  #waiters: { item: number; count: number; resolve: () => void }[] = [];

  constructor() {
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
      const item = Number(new URL(request.url).pathname.slice(1));
      const count = (this.starts.get(item) ?? 0) + 1;
      this.starts.set(item, count);
      this.#waiters = this.#waiters.filter((waiter) => {
        if (waiter.item !== item || count < waiter.count) return true;
        waiter.resolve();
        return false;
      });
      return new Response(String(count));
    });
    this.url = `http://127.0.0.1:${this.#server.addr.port}/`;
  }

  /** Resolves once `item` has started `count` times. */
  started(item: number, count = 1): Promise<void> {
    if ((this.starts.get(item) ?? 0) >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ item, count, resolve }));
  }

  /** Starts per item, `[item, count]` in item order. */
  counts(): [number, number][] {
    return [...this.starts].sort(([a], [b]) => a - b);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}

/** What a task gets: its item, and where to report its start. */
interface Item {
  readonly url: string;
  readonly n: number;
}

/**
 * Reports its start; item 3 then hangs on its first `hangs` starts (the
 * test kills its node meanwhile); every item then works 50 ms, holding its
 * worker, so that the item before a hanging one has finished when it starts.
 */
const reportThenWork = async ({ url, n, hangs }: Item & { hangs: number }) => {
  const count = Number(await (await fetch(url + n)).text());
  if (n === 3 && count <= hangs) await new Promise((resolve) => setTimeout(resolve, 600_000));
  const end = Date.now() + 50;
  while (Date.now() < end);
  return n * 10;
};

const NODE_FLAGS = ["--allow-source", "--task-net", "127.0.0.1"];

/** Asserts that item `index` alone failed, with a `WorkerCrashedError` whose message matches. */
function assertOnlyCrashed(outcomes: Settled<unknown>[], index: number, message: RegExp): void {
  assert.deepEqual(
    outcomes.map((o) => o.status),
    outcomes.map((_, i) => i === index ? "rejected" : "fulfilled"),
  );
  const failure = outcomes[index];
  assert.ok(failure.status === "rejected" && failure.reason instanceof WorkerCrashedError);
  assert.equal(failure.reason.index, index);
  assert.match(failure.reason.message, message);
}

/**
 * Starts a call over items 0..5 in one chunk, item 3 hanging on its first
 * `hangs` starts; `threeDone` resolves once items 0..2 have reached the caller.
 */
function sixItems<R>(
  counter: StartCounter,
  hangs: number,
  start: (items: (Item & { hangs: number })[], options: MapOptions) => Promise<R>,
): { call: Promise<R>; threeDone: Promise<void> } {
  const items = [0, 1, 2, 3, 4, 5].map((n) => ({ url: counter.url, n, hangs }));
  let reached!: () => void;
  const threeDone = new Promise<void>((resolve) => reached = resolve);
  const call = start(items, { chunkSize: 6, onProgress: (done) => done === 3 && reached() });
  return { call, threeDone };
}

Deno.test({
  ...clusterTest("a node killed mid-chunk: finished items are not run again, the running one is"),
  fn: async () => {
    await using counter = new StartCounter();
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, leaseMs: 1000, flags: NODE_FLAGS });
    await using pool = await ClusterPool.connect({ servers: cluster.url });
    const { call, threeDone } = sixItems(
      counter,
      1,
      (items, options) => pool.map(reportThenWork, items, options),
    );
    // Items 0..2 have reached the caller, item 3 hangs: kill its node.
    await within(threeDone, "items 0..2 reach the caller", LONG_MS);
    await within(counter.started(3), "item 3 starts", LONG_MS);
    await cluster.stopNode(0, "SIGKILL");
    await cluster.startNode({ workers: 1, leaseMs: 1000, flags: NODE_FLAGS });
    assert.deepEqual(await within(call, "the map", LONG_MS), [0, 10, 20, 30, 40, 50]);
    const counts = new Map(counter.counts());
    assert.deepEqual([0, 1, 2, 3].map((n) => counts.get(n)), [1, 1, 1, 2]);
    // Items 4 and 5 may have started on the dead node while item 3 hung.
    for (const n of [4, 5]) assert.ok([1, 2].includes(counts.get(n) ?? 0), `item ${n}`);
  },
});

Deno.test({
  ...clusterTest("an item whose nodes die maxCrashes times fails alone with WorkerCrashedError"),
  fn: async () => {
    await using counter = new StartCounter();
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, leaseMs: 1000, flags: NODE_FLAGS });
    await using pool = await ClusterPool.connect({ servers: cluster.url, maxCrashes: 2 });
    const { call: settled, threeDone } = sixItems(
      counter,
      2,
      (items, options) => pool.mapSettled(reportThenWork, items, options),
    );
    await within(threeDone, "items 0..2 reach the caller", LONG_MS);
    for (let death = 1; death <= 2; death++) {
      await within(counter.started(3, death), `item 3 starts (${death})`, LONG_MS);
      await cluster.stopNode(death - 1, "SIGKILL");
      await cluster.startNode({ workers: 1, leaseMs: 1000, flags: NODE_FLAGS });
    }
    assertOnlyCrashed(
      await within(settled, "the map", LONG_MS),
      3,
      /^Task 3 \(reportThenWork\) was given up: .*tried 2 times/,
    );
    assert.equal(new Map(counter.counts()).get(3), 2);
  },
});

Deno.test({
  ...clusterTest("an item that kills its node's worker counts toward the caller's maxCrashes"),
  fn: async () => {
    await using counter = new StartCounter();
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 2, flags: NODE_FLAGS });
    await using pool = await ClusterPool.connect({ servers: cluster.url, maxCrashes: 2 });
    const exitOnTwo = async ({ url, n }: Item) => {
      await fetch(url + n);
      if (n === 2) Deno.exit(1);
      return n;
    };
    const items = [0, 1, 2, 3].map((n) => ({ url: counter.url, n }));
    const outcomes = await within(
      pool.mapSettled(exitOnTwo, items, { chunkSize: 4 }),
      "the map",
      LONG_MS,
    );
    assertOnlyCrashed(
      outcomes,
      2,
      /^Task 2 \(exitOnTwo\) killed its workers on the cluster \(Error: the task called Deno\.exit\(\); it was tried 2 times, last on node \d+\)$/,
    );
    assert.deepEqual(outcomes.map((o) => o.status === "fulfilled" ? o.value : null), [
      0,
      1,
      null,
      3,
    ]);
    assert.deepEqual(counter.counts(), [[0, 1], [1, 1], [2, 2], [3, 1]]);
  },
});

Deno.test({
  ...clusterTest("an abort stops the call's running chunk on its node, which takes the next call"),
  fn: async () => {
    await using counter = new StartCounter();
    await using cluster = await Cluster.start();
    // A lease so long that the node's own check of the call comes after the
    // deadline: the pool's cancel message stops the chunk.
    await cluster.startNode({ workers: 1, leaseMs: 4 * LONG_MS, flags: NODE_FLAGS });
    await using pool = await ClusterPool.connect({ servers: cluster.url });
    const controller = new AbortController();
    const hanging = pool.apply(reportThenWork, [{ url: counter.url, n: 3, hangs: 1 }], {
      signal: controller.signal,
    });
    await within(counter.started(3), "the hanging task starts", LONG_MS);
    controller.abort(new Error("enough"));
    await assert.rejects(hanging, { message: "enough" });
    // The only worker was busy with the aborted chunk: this call runs only
    // once that chunk has stopped.
    assert.equal(
      await within(pool.apply((n: number) => n + 1, [41]), "the next call", LONG_MS),
      42,
    );
  },
});
