import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { PoolClosedError, TaskError, TaskModule, type TaskPool } from "../lib/mod.ts";
import { announceMissingServer, Cluster, clusterTest } from "./_cluster.ts";
import { main as poolMain } from "../pool.ts";
import { runScript } from "../demo/cli.ts";
import { captureIo } from "./_io.ts";
import { within } from "./_deadline.ts";

/** Generous: a hang fails, a slow machine does not. */
const LONG_MS = 30_000;

announceMissingServer();

const fixtures = new URL("./fixtures/", import.meta.url);
const tasks = new TaskModule<typeof import("./fixtures/tasks.ts")>(new URL("tasks.ts", fixtures));

/** Code written against TaskPool, as it runs on any pool. */
function squares(pool: TaskPool, n: number): Promise<number[]> {
  return pool.map((x: number) => x * x, Array.from({ length: n }, (_, i) => i));
}

/** Queued and unacknowledged chunks on the stream, once it has none, or a deadline. */
async function drained(url: string, stream = "POOL_CHUNKS"): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    while ((await jsm.streams.info(stream)).state.messages > 0) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    await nc.close();
  }
}

Deno.test({
  ...clusterTest("ClusterPool keeps the TaskPool contract on a cluster of two nodes"),
  fn: async (t) => {
    await using cluster = await Cluster.start();
    const flags = ["--allow-source", "--modules", fixtures.href, "--task-read", fixtures.pathname];
    await Promise.all([cluster.startNode({ flags }), cluster.startNode({ flags })]);
    await using pool = await ClusterPool.connect({ servers: cluster.url, parallelism: 4 });

    await t.step("map keeps input order, with any chunk size", async () => {
      assert.deepEqual(await within(squares(pool, 50), "map", LONG_MS), [
        ...Array.from({ length: 50 }, (_, i) => i * i),
      ]);
      for (const chunkSize of [1, 3, 100]) {
        const result = await within(
          pool.map((s: string) => s.length, ["a", "bb", "ccc", "dddd"], { chunkSize }),
          "map",
          LONG_MS,
        );
        assert.deepEqual(result, [1, 2, 3, 4]);
      }
    });

    await t.step("nodes() lists each node with its workers and Deno version", async () => {
      const nodes = await within(pool.nodes(), "nodes()", LONG_MS);
      assert.equal(nodes.length, 2);
      for (const node of nodes) {
        assert.equal(node.workers, 2);
        assert.equal(node.isolation, "thread");
        assert.equal(node.deno, Deno.version.deno);
        assert.equal(node.busy, 0);
        assert.match(node.name, /^\d+$/);
      }
      const other = await ClusterPool.connect({ servers: cluster.url, stream: "NOBODY" });
      try {
        assert.deepEqual(await other.nodes({ waitMs: 100 }), []);
        await assert.rejects(other.nodes({ waitMs: 0 }), RangeError);
      } finally {
        await other.terminate();
      }
    });

    await t.step("empty input resolves with nothing", async () => {
      assert.deepEqual(await pool.map((n: number) => n, []), []);
      const seen: number[] = [];
      for await (const n of pool.imap((n: number) => n, [])) seen.push(n);
      assert.deepEqual(seen, []);
    });

    await t.step("starmap, apply and module tasks", async () => {
      const sums = pool.starmap((a: number, b: number) => a + b, [[1, 2], [3, 4]]);
      assert.deepEqual(await within(sums, "starmap", LONG_MS), [3, 7]);
      assert.equal(await within(pool.apply((a: number, b: number) => a * b, [6, 7]), "apply"), 42);
      assert.deepEqual(await within(pool.map(tasks.task("fib"), [10, 20]), "fib", LONG_MS), [
        55,
        6765,
      ]);
      assert.equal(
        await within(pool.apply(tasks.task("greet"), ["Hi", "Ann"]), "greet"),
        "Hi, Ann",
      );
    });

    await t.step("a task that throws is a TaskError with the worker's error as cause", async () => {
      const error = await pool.map(
        (n: number) => {
          if (n === 3) throw new RangeError("three", { cause: 7 });
          return n;
        },
        [1, 2, 3, 4],
        { chunkSize: 1 },
      ).catch((e) => e);
      assert.ok(error instanceof TaskError);
      assert.equal(error.index, 2);
      assert.ok(error.cause instanceof RangeError);
      assert.equal((error.cause as RangeError).message, "three");
      assert.equal((error.cause as RangeError).cause, 7);
      assert.match(error.message, /^Task 2 failed: RangeError: three/);
      // @ts-expect-error: `factor` exists only here, not in the worker
      const refused = await pool.apply((x: number) => x * factor, [1]).catch((e) => e);
      assert.match(refused.message, /must be self-contained/);
    });

    await t.step("results over the server's max_payload fail the chunk, saying so", async () => {
      const big = (n: number) => "x".repeat(n);
      const error = await within(pool.apply(big, [2_000_000]), "apply", LONG_MS).catch((e) => e);
      assert.ok(error instanceof TaskError, String(error));
      assert.match(error.message, /over the server's max_payload/);
    });

    await t.step("mapSettled reports every item", async () => {
      const outcomes = await within(
        pool.mapSettled((n: number) => {
          if (n === 2) throw new Error("two");
          return n;
        }, [1, 2, 3]),
        "mapSettled",
        LONG_MS,
      );
      assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "rejected", "fulfilled"]);
      const rejected = outcomes[1] as { reason: unknown };
      assert.ok(rejected.reason instanceof TaskError);
    });

    await t.step("imap keeps order; imapUnordered gives every result once", async () => {
      const ordered: number[] = [];
      for await (const n of pool.imap((n: number) => n * 2, [1, 2, 3, 4, 5, 6], { chunkSize: 2 })) {
        ordered.push(n);
      }
      assert.deepEqual(ordered, [2, 4, 6, 8, 10, 12]);
      const unordered: number[] = [];
      for await (const n of pool.imapUnordered((n: number) => n * 2, [1, 2, 3, 4, 5, 6])) {
        unordered.push(n);
      }
      assert.deepEqual(unordered.sort((a, b) => a - b), [2, 4, 6, 8, 10, 12]);
    });

    await t.step("imap reads an endless input lazily and stops at a break", async () => {
      function* naturals() {
        for (let n = 1;; n++) yield n;
      }
      const first: number[] = [];
      for await (const n of pool.imap((n: number) => n * n, naturals(), { maxInFlight: 8 })) {
        first.push(n);
        if (first.length === 4) break;
      }
      assert.deepEqual(first, [1, 4, 9, 16]);
    });

    await t.step("onProgress counts every item once", async () => {
      const seen: number[] = [];
      await pool.map((n: number) => n, [1, 2, 3, 4, 5], {
        chunkSize: 2,
        onProgress: (done, total) => {
          assert.equal(total, 5);
          seen.push(done);
        },
      });
      assert.equal(seen.at(-1), 5);
      assert.deepEqual([...seen].sort((a, b) => a - b), seen);
    });

    await t.step("an abort rejects with the reason and removes the queued chunks", async () => {
      const controller = new AbortController();
      const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), 300));
      const call = pool.map(slow, Array.from({ length: 40 }, (_, i) => i), {
        chunkSize: 1,
        signal: controller.signal,
        onProgress: () => controller.abort(new Error("enough")),
      });
      await assert.rejects(within(call, "abort", LONG_MS), /enough/);
      await within(drained(cluster.url), "the stream drains", LONG_MS);
      const already = AbortSignal.abort(new Error("before"));
      await assert.rejects(pool.map((n: number) => n, [1], { signal: already }), /before/);
    });

    await t.step("bad arguments are refused at the door", async () => {
      await assert.rejects(pool.map(42 as never, [1]), TypeError);
      await assert.rejects(pool.map((n: number) => n, [1], { chunkSize: 0 }), RangeError);
      await assert.rejects(pool.apply((n: number) => n, 1 as never), TypeError);
      for (
        const bad of [
          { timeout: -5 },
          { reconnectTimeWait: 1.5 },
          { maxReconnectAttempts: -2 },
          { maxCrashes: 0 },
        ]
      ) {
        await assert.rejects(
          ClusterPool.connect({ servers: cluster.url, ...bad }),
          RangeError,
          JSON.stringify(bad),
        );
      }
      // An item over the server's max_payload: the call says which, in one error.
      await assert.rejects(
        pool.map((s: string) => s.length, ["x".repeat(2 * 1024 * 1024)]),
        /^Error: Cannot send items 0 to 0 to the cluster: .*max_payload/,
      );
    });

    await t.step("a module outside the nodes' allowlist is refused", async () => {
      const other = new TaskModule<{ f(): number }>("file:///elsewhere/tasks.ts");
      const error = await pool.apply(other.task("f"), []).catch((e) => e);
      assert.ok(error instanceof TaskError);
      assert.match(error.message, /refused by a node/);
    });

    await t.step(
      "pool.ts --cluster prints the seed's output, and its other flags work",
      async () => {
        let io = captureIo();
        assert.equal(
          await within(runScript(poolMain, ["--cluster", cluster.url], io), "pool.ts", LONG_MS),
          0,
        );
        assert.deepEqual(io.stdout, [
          "Original numbers: [1, 2, 3, 4, 5]",
          "Squared numbers: [1, 4, 9, 16, 25]",
        ]);
        io = captureIo();
        const args = ["--cluster", cluster.url, "--range", "12", "--chunk-size", "5", "--timeline"];
        assert.equal(await within(runScript(poolMain, args, io), "pool.ts", LONG_MS), 0);
        assert.equal(
          io.stdout[1],
          "Squared numbers: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100, 121, 144]",
        );
        assert.ok(
          io.stdout.some((line) => /^node \d+ w\d+ /.test(line)),
          `the timeline has a row per node and worker:\n${io.stdout.join("\n")}`,
        );
      },
    );

    await t.step("terminate() rejects pending calls with PoolClosedError", async () => {
      const ending = await ClusterPool.connect({ servers: cluster.url });
      const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), 300));
      const call = ending.map(slow, Array.from({ length: 20 }, (_, i) => i), { chunkSize: 1 });
      await ending.terminate();
      await assert.rejects(call, PoolClosedError);
      await assert.rejects(ending.apply(slow, [1]), PoolClosedError);
      await within(drained(cluster.url), "the stream drains", LONG_MS);
    });

    await t.step("a closed pool takes no calls", async () => {
      await using closing = await ClusterPool.connect({ servers: cluster.url });
      const running = closing.map((n: number) => n + 1, [1, 2, 3]);
      closing.close();
      await assert.rejects(closing.map((n: number) => n, [1]), PoolClosedError);
      await within(closing.join(), "join", LONG_MS);
      assert.deepEqual(await running, [2, 3, 4]);
    });

    await t.step("imap starts when called; close() and join() keep its results", async () => {
      const closing = await ClusterPool.connect({ servers: cluster.url });
      let read = 0;
      function* input() {
        for (let n = 0; n < 5; n++, read++) yield n;
      }
      const stream = closing.imap((n: number) => n * 2, input());
      const unordered = closing.imapUnordered((n: number) => n + 1, [10, 20]);
      // No next() yet: the input is read and sent all the same.
      await within(
        (async () => {
          while (read < 5) await new Promise((resolve) => setTimeout(resolve, 10));
        })(),
        "the input is read before the first next()",
        LONG_MS,
      );
      closing.close();
      await within(closing.join(), "join", LONG_MS);
      assert.deepEqual(await Array.fromAsync(stream), [0, 2, 4, 6, 8]);
      assert.deepEqual((await Array.fromAsync(unordered)).sort(), [11, 21]);
    });

    await t.step("a stream beyond its window after join() ends with PoolClosedError", async () => {
      const closing = await ClusterPool.connect({ servers: cluster.url });
      const stream = closing.imap((n: number) => n, [1, 2, 3, 4, 5, 6], { maxInFlight: 2 });
      closing.close();
      await within(closing.join(), "join", LONG_MS);
      const seen: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const value of stream) seen.push(value);
        })(),
        PoolClosedError,
      );
      assert.deepEqual(seen, [1, 2]);
    });

    await t.step("terminate() fails a stream being read with PoolClosedError", async () => {
      const ending = await ClusterPool.connect({ servers: cluster.url });
      const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), 60_000));
      const stream = ending.imap(slow, [1, 2]);
      const first = assert.rejects(stream.next(), PoolClosedError);
      await ending.terminate();
      await within(first, "the read", LONG_MS);
      assert.deepEqual(await stream.next(), { done: true, value: undefined });
      await within(drained(cluster.url), "the stream drains", LONG_MS);
    });
  },
});

Deno.test({
  ...clusterTest("a cluster node runs no source function unless started with --allow-source"),
  fn: async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ stream: "STRICT", workers: 1 });
    await using pool = await ClusterPool.connect({ servers: cluster.url, stream: "STRICT" });
    const error = await within(pool.apply((n: number) => n, [1]), "apply", LONG_MS).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.match(error.message, /--allow-source/);
  },
});
