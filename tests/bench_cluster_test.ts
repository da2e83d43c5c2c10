import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  clientPort,
  comparisonFlags,
  Gate,
  heldTask,
  isClusterComparison,
  layout,
  LocalCluster,
  nodeArgs,
  skippedNote,
  storePath,
} from "../bench/cluster.ts";
import { ClusterPool } from "../lib/cluster/mod.ts";
import { clusterTest } from "./_cluster.ts";
import { within } from "./_deadline.ts";
import { needs } from "./_needs.ts";

const ROOT = new URL("../", import.meta.url);
const SCRATCH = new URL(".scratch/", ROOT);

Deno.test("`layout()` names nodes and workers, singular and plural", () => {
  assert.equal(layout(1, 2), "1 node × 2 workers");
  assert.equal(layout(2, 1), "2 nodes × 1 worker");
  assert.equal(layout(1, 1), "1 node × 1 worker");
});

Deno.test("`isClusterComparison()` takes the cluster group and its members only", () => {
  assert.ok(isClusterComparison("cluster"));
  assert.ok(isClusterComparison("cluster:recovery"));
  assert.ok(!isClusterComparison("clusters"));
  assert.ok(!isClusterComparison("map:1e5"));
  assert.ok(!isClusterComparison("tasks"));
});

Deno.test("`comparisonFlags()` lets a cluster comparison write its store and nothing else", () => {
  const where = { execPath: "/bin/deno", store: "/tmp/pool-bench-nats-x" };
  assert.deepEqual(comparisonFlags("tasks", where), ["--allow-run=python3,deno,/bin/deno"]);
  assert.deepEqual(comparisonFlags("cluster:cpu", where), [
    "--allow-run=nats-server,/bin/deno",
    "--allow-net=127.0.0.1",
    "--allow-write=/tmp/pool-bench-nats-x",
  ]);
});

Deno.test("`storePath()` names a new folder in the temporary folder, another each time", () => {
  const a = storePath("/tmp");
  const b = storePath("/var/tmp/");
  assert.match(a, /^\/tmp\/pool-bench-nats-[0-9a-f-]{36}$/);
  assert.match(b, /^\/var\/tmp\/pool-bench-nats-[0-9a-f-]{36}$/);
  assert.notEqual(a.slice(-36), b.slice(-36));
  assert.match(storePath("/"), /^\/pool-bench-nats-/);
});

Deno.test("`nodeArgs()` is the node's documented command line, with only the flags given", () => {
  const root = fileURLToPath(ROOT);
  const node = fileURLToPath(new URL("lib/cluster/node.ts", ROOT));
  const head = ["run", "--allow-net=127.0.0.1", `--allow-read=${root}`, node];
  assert.deepEqual(nodeArgs("nats://127.0.0.1:4222", { workers: 2, stream: "S" }), [
    ...head,
    ...["--server", "nats://127.0.0.1:4222", "--workers", "2", "--stream", "S"],
  ]);
  assert.deepEqual(
    nodeArgs("nats://h:1", { workers: 1, stream: "R", leaseMs: 1000, flags: ["--allow-source"] }),
    [...head, "--server", "nats://h:1", "--workers", "1", "--stream", "R", "--lease", "1000"]
      .concat("--allow-source"),
  );
});

Deno.test("`clientPort()` reads the port from nats-server's log", () => {
  const log = "[1] 2026/01/01 00:00:00.000000 [INF] Starting nats-server\n" +
    "[1] 2026/01/01 00:00:00.000001 [INF] Listening for client connections on 127.0.0.1:35253\n" +
    "[1] 2026/01/01 00:00:00.000002 [INF] Server is ready\n";
  assert.equal(clientPort(log), 35253);
  assert.equal(clientPort("[INF] Server is ready"), undefined);
});

Deno.test("`skippedNote()` is one line that names what is skipped and how to install the server", () => {
  const note = skippedNote("nats-server not found", ["cluster:tiny", "cluster:cpu"]);
  assert.ok(!note.includes("\n"));
  assert.match(note, /^nats-server not found: cluster:tiny, cluster:cpu skipped; /);
  assert.match(note, /apt-get install nats-server/);
});

Deno.test(
  needs("a `Gate` holds tasks until released, then lets every later one go at once", {
    name: "net",
    host: "127.0.0.1",
  }),
  async () => {
    const gate = new Gate();
    try {
      let settled = false;
      const first = Promise.all([heldTask(gate.port), heldTask(gate.port)]);
      first.then(() => settled = true, () => settled = true);
      await within(gate.arrived(2, 10_000), "two tasks arriving", 10_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(!settled, "a task went before the release");
      gate.release();
      assert.deepEqual(await first, [gate.port, gate.port]);
      assert.equal(await heldTask(gate.port), gate.port);
      assert.equal(gate.arrivals.length, 3);
      gate.reset();
      assert.equal(gate.arrivals.length, 0);
      const held = heldTask(gate.port);
      await within(gate.arrived(1, 10_000), "a task after reset", 10_000);
      gate.release();
      assert.equal(await held, gate.port);
    } finally {
      await gate.close();
    }
  },
);

/** Whether a process with this id still runs (or is a zombie not yet reaped). */
async function running(pid: number): Promise<boolean> {
  try {
    return (await Deno.stat(`/proc/${pid}`)).isDirectory;
  } catch {
    return false;
  }
}

Deno.test({
  ...clusterTest(
    "a bench `LocalCluster` runs nodes and, once disposed, leaves no process or store",
  ),
  fn: async () => {
    await Deno.mkdir(SCRATCH, { recursive: true });
    const store = fileURLToPath(new URL(`bench-nats-${crypto.randomUUID()}`, SCRATCH));
    const cluster = await LocalCluster.start(store);
    const pids: number[] = [];
    try {
      assert.ok((await Deno.stat(store)).isDirectory);
      const flags = ["--allow-source"];
      const node = await cluster.startNode({ workers: 1, stream: "BENCH_T", flags });
      pids.push(node.pid);
      pids.push((await cluster.startNode({ workers: 1, stream: "BENCH_T", flags })).pid);
      const pool = await ClusterPool.connect({ servers: cluster.url, stream: "BENCH_T" });
      try {
        const squares = pool.map((n: number) => n * n, [1, 2, 3], { chunkSize: 1 });
        assert.deepEqual(await within(squares, "map", 30_000), [1, 4, 9]);
        await cluster.kill(node);
        assert.deepEqual(await within(pool.map((n: number) => -n, [5]), "map", 30_000), [-5]);
      } finally {
        await pool.terminate();
      }
      // A node that cannot start says why; the cluster still ends whole.
      await assert.rejects(
        cluster.startNode({ workers: 1, stream: "bad stream" }),
        /ended before it started: error: --stream must be/,
      );
    } finally {
      await cluster[Symbol.asyncDispose]();
    }
    await assert.rejects(Deno.stat(store), Deno.errors.NotFound);
    for (const pid of pids) assert.ok(!(await running(pid)), `node ${pid} still runs`);
  },
});

Deno.test({
  ...clusterTest("a bench `LocalCluster` never deletes a folder it did not make"),
  fn: async () => {
    await Deno.mkdir(SCRATCH, { recursive: true });
    const store = await Deno.makeTempDir({ dir: fileURLToPath(SCRATCH), prefix: "bench-nats-" });
    try {
      await assert.rejects(LocalCluster.start(store), Deno.errors.AlreadyExists);
      assert.ok((await Deno.stat(store)).isDirectory);
    } finally {
      await Deno.remove(store, { recursive: true });
    }
  },
});
