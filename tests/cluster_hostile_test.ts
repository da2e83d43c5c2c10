/**
 * Anyone who can publish to a cluster's subjects can send anything there:
 * a node and a pool drop what is not theirs and go on.
 */
import assert from "node:assert/strict";
import { serialize } from "node:v8";
import { connect } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { cancelSubject, chunkSubject, nodesSubject } from "../lib/cluster/_messages.ts";
import { Cluster, clusterTest } from "./_cluster.ts";
import { within } from "./_deadline.ts";

const LONG_MS = 30_000;

Deno.test({
  ...clusterTest("garbage on a cluster's subjects kills no node and breaks no pool"),
  fn: async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
    // Ended with terminate(), not join(): a failing test must not wait for its calls.
    const pool = await ClusterPool.connect({ servers: cluster.url });
    const evil = await connect({ servers: cluster.url });
    try {
      const garbage: Uint8Array[] = [null, undefined, 5, [], {}, { call: 1, reply: null }, "x"]
        .map((v) => new Uint8Array(serialize(v)));
      garbage.push(new Uint8Array([255, 13, 0]), new Uint8Array());
      const js = jetstream(evil);
      // Every inbox a pool or node uses, as a sniffer sees them.
      const inboxes = new Set<string>();
      evil.subscribe("_INBOX.>", { callback: (_e, m) => void inboxes.add(m.subject) });
      await evil.flush();
      assert.deepEqual(await within(pool.map((n: number) => n + 1, [1]), "a map", LONG_MS), [2]);
      for (const bytes of garbage) {
        await js.publish(chunkSubject("POOL_CHUNKS"), bytes);
        evil.publish(cancelSubject("POOL_CHUNKS"), bytes);
        evil.publish(nodesSubject("POOL_CHUNKS"), bytes);
        for (const inbox of inboxes) evil.publish(inbox, bytes);
      }
      await evil.flush();
      const values = await within(
        pool.map((n: number) => n * 2, [1, 2, 3], { chunkSize: 1 }),
        "a map after the garbage",
        LONG_MS,
      );
      assert.deepEqual(values, [2, 4, 6]);
      const nodes = await within(pool.nodes(), "nodes()", LONG_MS);
      assert.equal(nodes.length, 1, "the node is alive and answers");
    } finally {
      await evil.close();
      await pool.terminate();
    }
  },
});
