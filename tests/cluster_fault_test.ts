import assert from "node:assert/strict";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, createInbox } from "@nats-io/transport-node";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { WorkerCrashedError } from "../lib/mod.ts";
import { chunkSubject, encode } from "../lib/cluster/_messages.ts";
import { Cluster, clusterTest } from "./_cluster.ts";
import { within } from "./_deadline.ts";

/** Generous: a hang fails, a slow machine does not. */
const LONG_MS = 30_000;

/** Resolves once the nodes hold `count` chunks between them, unacknowledged. */
async function held(url: string, count: number): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc);
    while ((await jsm.consumers.info("POOL_CHUNKS", "nodes")).num_ack_pending < count) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await nc.close();
  }
}

Deno.test({
  ...clusterTest("a chunk held by a SIGKILLed node runs elsewhere; every result comes once"),
  fn: async () => {
    await using cluster = await Cluster.start();
    const flags = ["--allow-source"];
    await cluster.startNode({ workers: 1, leaseMs: 1000, flags });
    await cluster.startNode({ workers: 1, leaseMs: 1000, flags });
    await using pool = await ClusterPool.connect({ servers: cluster.url });
    const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 10), 400));
    const items = [1, 2, 3, 4, 5, 6];
    const results: number[] = [];
    const reading = (async () => {
      for await (const value of pool.imapUnordered(slow, items)) results.push(value as number);
    })();
    // Each node holds one chunk: kill one in the middle of it.
    await within(held(cluster.url, 2), "both nodes hold a chunk", LONG_MS);
    await cluster.stopNode(0, "SIGKILL");
    await within(reading, "the stream", LONG_MS);
    assert.deepEqual(results.sort((a, b) => a - b), items.map((n) => n * 10));
  },
});

Deno.test({
  ...clusterTest("a node drops the chunks of a caller that is gone"),
  fn: async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
    // Makes the stream, then leaves.
    await (await ClusterPool.connect({ servers: cluster.url })).terminate();
    const nc = await connect({ servers: cluster.url });
    try {
      const js = jetstream(nc);
      await js.publish(
        chunkSubject("POOL_CHUNKS"),
        encode({
          call: "0",
          chunk: 0,
          reply: createInbox(),
          fn: { kind: "source", source: "(n) => n", name: "" },
          spread: false,
          items: [1],
        }),
      );
      const jsm = await jetstreamManager(nc);
      await within(
        (async () => {
          while ((await jsm.streams.info("POOL_CHUNKS")).state.messages > 0) {
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        })(),
        "the stream drains",
        LONG_MS,
      );
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  ...clusterTest("a chunk whose nodes all died is given up after max_deliver: WorkerCrashedError"),
  fn: async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({
      workers: 1,
      leaseMs: 1000,
      flags: ["--allow-source", "--max-deliver", "1"],
    });
    const pool = await ClusterPool.connect({ servers: cluster.url });
    try {
      const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), 60_000));
      const call = pool.apply(slow, [1]).catch((e) => e);
      await within(held(cluster.url, 1), "the node holds the chunk", LONG_MS);
      await cluster.stopNode(0, "SIGKILL");
      // The server gives up on the chunk when a node next asks for work.
      await cluster.startNode({ workers: 1, leaseMs: 1000, flags: ["--allow-source"] });
      const error = await within(call, "the call", LONG_MS);
      assert.ok(error instanceof WorkerCrashedError, String(error));
      assert.match(
        error.message,
        /^Task 0 \(slow\) was given up: Error: the chunk was delivered 1 times/,
      );
    } finally {
      // The call may still wait for its chunk, which join() would wait for.
      await pool.terminate();
    }
  },
});

Deno.test({
  ...clusterTest("a task that throws is acked with its error and never delivered again"),
  fn: async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 2, flags: ["--allow-source"] });
    await using pool = await ClusterPool.connect({ servers: cluster.url });
    const outcomes = await within(
      pool.mapSettled(
        (n: number) => {
          throw new Error(`no ${n}`);
        },
        [1, 2, 3, 4],
        { chunkSize: 1 },
      ),
      "mapSettled",
      LONG_MS,
    );
    assert.deepEqual(outcomes.map((o) => o.status), [
      "rejected",
      "rejected",
      "rejected",
      "rejected",
    ]);
    const nc = await connect({ servers: cluster.url });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info("POOL_CHUNKS", "nodes");
      // Four chunks, four deliveries, nothing waiting: none was delivered twice.
      assert.equal(info.delivered.consumer_seq, 4);
      assert.equal(info.num_ack_pending, 0);
      assert.equal(info.num_pending, 0);
    } finally {
      await nc.close();
    }
  },
});

Deno.test({
  ...clusterTest("a node renews leases at the consumer's pace, whatever its own --lease"),
  fn: async () => {
    await using cluster = await Cluster.start();
    // The first node makes the consumer with a lease of 2 s, then goes.
    await cluster.stopNode(await cluster.startNode({ workers: 1, leaseMs: 2000 }));
    // Two nodes that would renew every 15 s: a lapsed lease would hand the chunk to the other.
    const flags = ["--allow-source"];
    await cluster.startNode({ workers: 1, leaseMs: 60_000, flags });
    await cluster.startNode({ workers: 1, leaseMs: 60_000, flags });
    await using pool = await ClusterPool.connect({ servers: cluster.url });
    // Held for more than twice the lease.
    const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n), 4500));
    assert.equal(await within(pool.apply(slow, [7]), "apply", LONG_MS), 7);
    const nc = await connect({ servers: cluster.url });
    try {
      const info = await (await jetstreamManager(nc)).consumers.info("POOL_CHUNKS", "nodes");
      assert.equal(info.delivered.consumer_seq, 1, "delivered once, never again");
    } finally {
      await nc.close();
    }
  },
});
