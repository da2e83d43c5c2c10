/**
 * A cluster pool under faults, against a real server: a node frozen with
 * SIGSTOP while it holds a chunk, the server restarted mid-map (or gone for
 * longer than the NATS client's default reconnect window), nodes killed at
 * random during a large map, and a caller killed mid-call. Each test says
 * exactly what must come out, and runs under deadlines, so a hang fails.
 *
 * @module
 */

import assert from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ClusterPool, type ClusterPoolOptions } from "../lib/cluster/mod.ts";
import { type ChunkMessage, decode } from "../lib/cluster/_messages.ts";
import { Cluster, clusterTest, type NodeSpec } from "./_cluster.ts";
import { bounded, within } from "./_deadline.ts";
import { seededRandom } from "./_random.ts";

/** Generous: a hang fails, a slow machine does not. */
const LONG_MS = 30_000;

/** The bound of a whole test, its disposal included. */
const TEST_MS = 120_000;

/**
 * A test body under {@linkcode TEST_MS}. When the body fails and then a
 * disposal fails too (a pool whose call hangs cannot join), the body's
 * error is the one reported, not a bare `SuppressedError`.
 */
function chaos(fn: () => Promise<void>): (t: Deno.TestContext) => Promise<void> {
  return bounded(async () => {
    try {
      await fn();
    } catch (error) {
      if (!(error instanceof SuppressedError)) throw error;
      console.error(`and then, disposing: ${error.error}`);
      throw error.suppressed;
    }
  }, TEST_MS);
}

const ROOT = new URL("../", import.meta.url);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Calls `look` until it returns something other than `undefined`, pausing
 * `everyMs` between looks, and resolves with that; rejects after `ms`,
 * naming `what`, and looks no more.
 */
async function poll<T>(
  look: () => Promise<T | undefined> | T | undefined,
  what: string,
  { ms = LONG_MS, everyMs = 10 } = {},
): Promise<T> {
  let looking = true;
  try {
    return await within(
      (async () => {
        while (looking) {
          const found = await look();
          if (found !== undefined) return found;
          await sleep(everyMs);
        }
        throw new Error(`${what}: no longer looked for`);
      })(),
      what,
      ms,
    );
  } finally {
    looking = false;
  }
}

/**
 * Connects a pool whose disposal, `close()` then `join()`, waits for its
 * calls at most {@linkcode LONG_MS} and then terminates it: a call that
 * never ends fails its test instead of holding the run.
 */
async function openPool(
  options: ClusterPoolOptions,
): Promise<{ pool: ClusterPool } & AsyncDisposable> {
  const pool = await ClusterPool.connect(options);
  return {
    pool,
    async [Symbol.asyncDispose]() {
      pool.close();
      try {
        await within(pool.join(), "the pool's join", LONG_MS);
      } finally {
        await pool.terminate();
      }
    },
  };
}

/** What the server says of the stream and of the nodes' consumer. */
interface QueueState {
  /** Chunks on the stream: queued, or held by a node and not yet acked. */
  readonly messages: number;
  /** The sequence of the last chunk ever stored. */
  readonly lastSeq: number;
  /** Deliveries so far, redeliveries included. */
  readonly delivered: number;
  /** Chunks held by nodes, unacknowledged. */
  readonly ackPending: number;
  /** Chunks not yet delivered. */
  readonly pending: number;
}

/** A connection of the test's own, to look at the stream. */
class Monitor {
  #nc: NatsConnection;

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  static async connect(url: string): Promise<Monitor> {
    return new Monitor(await connect({ servers: url }));
  }

  async state(): Promise<QueueState> {
    const jsm = await jetstreamManager(this.#nc);
    const stream = await jsm.streams.info("POOL_CHUNKS");
    const consumer = await jsm.consumers.info("POOL_CHUNKS", "nodes");
    return {
      messages: stream.state.messages,
      lastSeq: stream.state.last_seq,
      delivered: consumer.delivered.consumer_seq,
      ackPending: consumer.num_ack_pending,
      pending: consumer.num_pending,
    };
  }

  /**
   * Resolves with the state once `check` holds of it; rejects after `ms`,
   * naming `what` and the last state seen.
   */
  async until(
    check: (state: QueueState) => boolean,
    what: string,
    ms = LONG_MS,
  ): Promise<QueueState> {
    let last: QueueState | undefined;
    try {
      return await poll(
        async () => {
          last = await this.state();
          return check(last) ? last : undefined;
        },
        what,
        { ms, everyMs: 25 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen: ${JSON.stringify(last)}`);
    }
  }

  /** The call and chunk of every message left on the stream. */
  async left(): Promise<{ call: string; chunk: number }[]> {
    const jsm = await jetstreamManager(this.#nc);
    const { first_seq: first, last_seq: last } = (await jsm.streams.info("POOL_CHUNKS")).state;
    const found: { call: string; chunk: number }[] = [];
    for (let seq = first; seq <= last; seq++) {
      // A sequence acked, or deleted, is no longer stored.
      const stored = await jsm.streams.getMessage("POOL_CHUNKS", { seq }).catch(() => null);
      if (stored === null) continue;
      const { call, chunk } = decode<ChunkMessage>(stored.data);
      found.push({ call, chunk });
    }
    return found;
  }

  /** The inbox of the caller of the chunk stored at `seq`. */
  async callerOf(seq: number): Promise<string> {
    const jsm = await jetstreamManager(this.#nc);
    const stored = await jsm.streams.getMessage("POOL_CHUNKS", { seq });
    assert.ok(stored !== null, `no chunk at ${seq}`);
    return decode<ChunkMessage>(stored.data).reply;
  }

  /**
   * Resolves once someone listens on `inbox` again: a request there meets
   * "no responders" until its caller has reconnected and subscribed. The
   * pool ignores what it cannot decode, so the probe times out instead.
   */
  async listened(inbox: string, what: string): Promise<void> {
    await poll(
      async () => {
        try {
          await this.#nc.request(inbox, new Uint8Array(), { timeout: 200 });
        } catch (error) {
          if (error instanceof Error && /no responders/i.test(error.message)) return undefined;
        }
        return true;
      },
      what,
      { everyMs: 50 },
    );
  }

  /** Resolves once the stream is empty and no node holds a chunk. */
  drained(what = "the stream drains"): Promise<QueueState> {
    return this.until((s) => s.messages === 0 && s.ackPending === 0 && s.pending === 0, what);
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

/** What a node said to a caller, as the test's own subscription to `_INBOX.>` saw it. */
type Heard =
  | { type: "wanted"; call: string; chunk: number; asker: string; answered: boolean }
  | { type: "result"; call: string; chunk: number; node: string };

/**
 * Listens to every inbox: the nodes' questions to the caller ("still
 * wanted?", with the asking connection's reply prefix, and whether the
 * answer went by) and their results (with the node's name). Being a
 * subscriber, it turns a gone caller's "no responders" into a timeout: it
 * must be closed before a caller goes.
 */
class Spy {
  readonly heard: Heard[] = [];
  #nc: NatsConnection;
  /** Questions by the subject their answer goes to. */
  #questions = new Map<string, Extract<Heard, { type: "wanted" }>>();

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
    nc.subscribe("_INBOX.>", {
      callback: (error, msg) => {
        if (error !== null) return;
        const question = this.#questions.get(msg.subject);
        if (question !== undefined) {
          question.answered = true;
          return;
        }
        let request: unknown;
        try {
          request = decode(msg.data);
        } catch {
          return; // An answer, a pull's status, JSON of the JetStream API.
        }
        if (typeof request !== "object" || request === null) return;
        const { type, call, chunk, node } = request as Record<string, unknown>;
        if (typeof call !== "string" || typeof chunk !== "number") return;
        if (type === "wanted") {
          // The reply subject is the asking connection's `_INBOX.<id>.` plus a token.
          const asker = (msg.reply ?? "").split(".").slice(0, 2).join(".");
          const question = { type: "wanted" as const, call, chunk, asker, answered: false };
          this.heard.push(question);
          if (msg.reply) this.#questions.set(msg.reply, question);
        } else if (type === "result" && typeof node === "string") {
          this.heard.push({ type, call, chunk, node });
        }
      },
    });
  }

  static async start(url: string): Promise<Spy> {
    const nc = await connect({ servers: url });
    const spy = new Spy(nc);
    await nc.flush();
    return spy;
  }

  results(call: string): { chunk: number; node: string }[] {
    return this.heard.flatMap((h) => h.type === "result" && h.call === call ? [h] : []);
  }

  /** Whether the caller has answered a node's question about `chunk` of `call`. */
  answered(call: string, chunk: number): boolean {
    return this.heard.some((h) =>
      h.type === "wanted" && h.call === call && h.chunk === chunk && h.answered
    );
  }

  /** The connections whose question about a chunk of `call` the caller has answered. */
  answeredAskers(call: string): Set<string> {
    return new Set(
      this.heard.flatMap((h) =>
        h.type === "wanted" && h.call === call && h.answered ? [h.asker] : []
      ),
    );
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

/** Resolves once `check()` holds, looking every 10 ms; rejects after `ms`, naming `what`. */
async function until(check: () => boolean, what: string, ms = LONG_MS): Promise<void> {
  await poll(() => check() || undefined, what, { ms });
}

/**
 * The counts one call's `onProgress` reported, in order: each must be higher
 * than the one before, and none above the call's total.
 */
function progress(): { counts: number[]; onProgress: (done: number) => void } {
  const counts: number[] = [];
  return { counts, onProgress: (done) => void counts.push(done) };
}

/** Asserts that `counts` rose to `total` and never repeated nor went past it. */
function assertProgress(counts: number[], total: number, what: string): void {
  for (let i = 1; i < counts.length; i++) {
    assert.ok(counts[i] > counts[i - 1], `${what}: ${counts[i]} after ${counts[i - 1]}`);
  }
  assert.equal(counts.at(-1), total, `${what}: the last count`);
}

Deno.test({
  ...clusterTest(
    "a SIGSTOPped node's chunk runs on another node; after SIGCONT it changes nothing",
  ),
  fn: chaos(async () => {
    await using cluster = await Cluster.start();
    const node = (name: string): NodeSpec => ({
      workers: 1,
      leaseMs: 1000,
      flags: ["--allow-source", "--name", name],
    });
    const frozen = await cluster.startNode(node("frozen"));
    await cluster.startNode(node("other"));
    await using opened = await openPool({ servers: cluster.url });
    const { pool } = opened;
    const spy = await Spy.start(cluster.url);
    const monitor = await Monitor.connect(cluster.url);
    try {
      const slow = (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 10), 300));
      const items = [1, 2, 3, 4];
      const first = progress();
      const call = pool.map(slow, items, { chunkSize: 1, onProgress: first.onProgress });
      // Both nodes have asked for a chunk of their own and been told to run it.
      await until(() => spy.answeredAskers("0").size === 2, "both nodes ask about a chunk");
      cluster.signalNode(frozen, "SIGSTOP");
      try {
        // Its lease lapses; the other node runs its chunk, and the call ends without it.
        assert.deepEqual(await within(call, "the map, a node frozen", LONG_MS), [10, 20, 30, 40]);
        assertProgress(first.counts, 4, "the first call's progress");
        // Every chunk's result came from the other node, none from the frozen one.
        const chunksOf = (node: string) =>
          [...new Set(spy.results("0").flatMap((r) => r.node === node ? [r.chunk] : []))].sort();
        await until(() => chunksOf("other").length === 4, "the spy hears the four results");
        assert.deepEqual(chunksOf("frozen"), []);
      } finally {
        cluster.signalNode(frozen, "SIGCONT");
      }
      const reported = [...first.counts];
      // Thawed, the frozen node learns that its chunk is done with (it asks
      // again, or finishes and sends what no one takes), and lets it go.
      await poll(
        async () =>
          (await pool.nodes()).some((n) => n.name === "frozen" && n.busy === 0) || undefined,
        "the thawed node lets its chunk go",
        { ms: LONG_MS },
      );
      await monitor.drained();
      assert.deepEqual(first.counts, reported, "the late result reached no one");
      // A following call works as if nothing had happened.
      const second = progress();
      const more = Array.from({ length: 12 }, (_, i) => i);
      const values = await within(
        pool.map((n: number) => n + 1, more, { chunkSize: 1, onProgress: second.onProgress }),
        "the map after SIGCONT",
        LONG_MS,
      );
      assert.deepEqual(values, more.map((n) => n + 1));
      assertProgress(second.counts, 12, "the second call's progress");
      await monitor.drained();
    } finally {
      await monitor.close();
      await spy.close();
    }
  }),
});

for (const signal of ["SIGTERM", "SIGKILL"] as const) {
  Deno.test({
    ...clusterTest(`a map survives a restart of its server (${signal}): no queued chunk is lost`),
    fn: chaos(async () => {
      await using cluster = await Cluster.start();
      await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
      await using opened = await openPool({ servers: cluster.url });
      const { pool } = opened;
      const items = Array.from({ length: 30 }, (_, i) => i);
      const counts = progress();
      const call = pool.map(
        (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 2), 100)),
        items,
        { chunkSize: 1, onProgress: counts.onProgress },
      );
      const monitor = await Monitor.connect(cluster.url);
      let before: QueueState;
      try {
        // Every chunk is stored and the node is at work: most of them wait in the queue.
        before = await monitor.until(
          (s) => s.lastSeq === items.length && counts.counts.length > 0,
          "every chunk queued, one done",
        );
      } finally {
        await monitor.close();
      }
      assert.ok(before.messages >= 10, `chunks queued at the restart: ${before.messages}`);
      await cluster.stopServer(signal);
      await cluster.startServer();
      assert.deepEqual(
        await within(call, "the map after the restart", LONG_MS),
        items.map((n) => n * 2),
      );
      assertProgress(counts.counts, items.length, "progress");
      // The restarted server still serves calls.
      assert.deepEqual(
        await within(pool.map((n: number) => -n, [1, 2, 3]), "a map after the restart", LONG_MS),
        [-1, -2, -3],
      );
      const after = await Monitor.connect(cluster.url);
      try {
        if (signal === "SIGTERM") {
          await after.drained();
        } else {
          // Nothing is left to deliver. A server killed (nats-server 2.9) may
          // have kept no record of some chunks' removal, acked before it died:
          // they come back on the stream, below the consumer's ack floor, and
          // are never delivered again. Any such is a chunk of the first call.
          await after.until((s) => s.pending === 0 && s.ackPending === 0, "nothing to deliver");
          const left = await after.left();
          assert.ok(left.every((m) => m.call === "0"), JSON.stringify(left));
        }
      } finally {
        await after.close();
      }
    }),
  });
}

Deno.test({
  ...clusterTest(
    "a map survives a restart of its server when its caller reconnects after the nodes",
  ),
  fn: chaos(async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
    // The caller retries every 3 s, the node every 2 s: the node is back
    // first and meets "no responders" on the caller's inbox for a moment,
    // which it must not take for a caller gone for good.
    await using opened = await openPool({ servers: cluster.url, reconnectTimeWait: 3000 });
    const { pool } = opened;
    const spy = await Spy.start(cluster.url);
    const items = [3000, 100, 100];
    let call: Promise<number[]>;
    try {
      call = pool.map(
        (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
        items,
        { chunkSize: 1 },
      );
      await until(() => spy.answered("0", 0), "the node is told to run the first chunk");
    } finally {
      // Gone before the restart: a listener would answer for the missing caller.
      await spy.close();
    }
    await cluster.stopServer();
    await cluster.startServer();
    // The node finishes the first chunk once it is back, before the caller is.
    assert.deepEqual(await within(call, "the map after the restart", LONG_MS), items);
  }),
});

Deno.test({
  ...clusterTest(
    "a pool rides out a server outage longer than the NATS client's default reconnect window",
  ),
  fn: chaos(async () => {
    await using cluster = await Cluster.start();
    await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
    await using opened = await openPool({ servers: cluster.url });
    const { pool } = opened;
    const items = Array.from({ length: 6 }, (_, i) => i);
    const call = pool.map(
      (n: number) => new Promise((resolve) => setTimeout(() => resolve(n * 5), 300)),
      items,
      { chunkSize: 1 },
    );
    let inbox: string;
    const before = await Monitor.connect(cluster.url);
    try {
      await before.until((s) => s.lastSeq === items.length, "every chunk queued");
      inbox = await before.callerOf(items.length);
    } finally {
      await before.close();
    }
    await cluster.stopServer();
    // Past the client's default of 10 attempts 2 s apart, after which a
    // connection closes for good.
    await sleep(22_000);
    await cluster.startServer();
    const after = await Monitor.connect(cluster.url);
    try {
      await after.listened(inbox, "the caller is back");
      // The node is not: its connection kept the client's defaults. A fresh one takes over.
      await cluster.startNode({ workers: 1, flags: ["--allow-source"] });
      assert.deepEqual(
        await within(call, "the map after the outage", LONG_MS),
        items.map((n) => n * 5),
      );
      await after.drained();
    } finally {
      await after.close();
    }
  }),
});

/** Busy work per item, the same on the nodes as here: the item and a checksum. */
function busy(n: number): string {
  let x = n;
  for (let i = 0; i < 20_000; i++) x = (x * 31 + i) % 1_000_003;
  return `${n}:${x}`;
}

/**
 * While `running` is unsettled, SIGKILLs a random node every 200 to 500 ms
 * (the first once the call has begun, `begun`) and starts a fresh one in
 * its place; at least two nodes stay alive. Resolves with the number of
 * kills once `running` settles and the last fresh node is up.
 */
async function killAtRandom(
  cluster: Cluster,
  live: number[],
  spec: NodeSpec,
  seed: number,
  begun: Promise<void>,
  running: Promise<unknown>,
): Promise<number> {
  const random = seededRandom(seed);
  let over = false;
  running.then(() => over = true, () => over = true);
  let kills = 0;
  const starting: Promise<void>[] = [];
  const failures: unknown[] = [];
  await begun;
  while (!over) {
    if (live.length >= 2) {
      const [victim] = live.splice(Math.floor(random() * live.length), 1);
      await cluster.stopNode(victim, "SIGKILL");
      kills++;
      starting.push(
        cluster.startNode(spec).then(
          (n) => void live.push(n),
          (error) => void failures.push(error),
        ),
      );
    }
    // A pause, cut short when the call settles: no timer outlives the test.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 200 + Math.floor(random() * 300));
      running.then(() => resolve(), () => resolve());
    });
    clearTimeout(timer);
  }
  await Promise.all(starting);
  if (failures.length > 0) throw failures[0];
  return kills;
}

for (const [seed, ordered] of [[1, true], [2, false]] as const) {
  const method = ordered ? "map" : "imapUnordered";
  Deno.test({
    ...clusterTest(
      `${method} over 10,000 items while nodes are SIGKILLed at random (seed ${seed}): ` +
        `each result exactly once`,
    ),
    fn: chaos(async () => {
      await using cluster = await Cluster.start();
      // Never given up on: a chunk may meet several dying nodes.
      const spec: NodeSpec = {
        workers: 2,
        leaseMs: 1000,
        flags: ["--allow-source", "--max-deliver", "1000"],
      };
      const live = await Promise.all([0, 1, 2].map(() => cluster.startNode(spec)));
      await using opened = await openPool({ servers: cluster.url });
      const { pool } = opened;
      const items = Array.from({ length: 10_000 }, (_, i) => i);
      const expected = items.map(busy);
      let began = () => {};
      const begun = new Promise<void>((resolve) => began = resolve);
      const counts = progress();
      const onProgress = (done: number) => {
        counts.onProgress(done);
        began();
      };
      let outcome: Promise<string[]>;
      if (ordered) {
        outcome = pool.map(busy, items, { chunkSize: 50, onProgress });
      } else {
        outcome = (async () => {
          const seen: string[] = [];
          for await (
            const value of pool.imapUnordered(busy, items, { chunkSize: 50, onProgress })
          ) {
            seen.push(value);
          }
          return seen;
        })();
      }
      const killing = killAtRandom(cluster, live, spec, seed, begun, outcome);
      const results = await within(outcome, `the ${method} (seed ${seed})`, LONG_MS);
      const kills = await within(killing, "the last fresh node", LONG_MS);
      assert.ok(kills >= 1, `no node was killed during the call (seed ${seed})`);
      if (ordered) {
        assert.deepEqual(results, expected, `seed ${seed}, ${kills} kills`);
      } else {
        const times = new Map<string, number>();
        for (const value of results) times.set(value, (times.get(value) ?? 0) + 1);
        const twice = [...times].filter(([, n]) => n > 1).map(([value]) => value);
        assert.deepEqual(twice, [], `delivered more than once (seed ${seed}, ${kills} kills)`);
        assert.deepEqual([...results].sort(), [...expected].sort(), `seed ${seed}`);
      }
      assertProgress(counts.counts, items.length, `progress (seed ${seed})`);
      const monitor = await Monitor.connect(cluster.url);
      try {
        await monitor.drained();
      } finally {
        await monitor.close();
      }
      console.log(`seed ${seed}: ${kills} nodes killed`);
    }),
  });
}

Deno.test({
  ...clusterTest("a SIGKILLed caller's chunks are dropped by the nodes; the next caller is served"),
  fn: chaos(async () => {
    await using cluster = await Cluster.start();
    const spec: NodeSpec = { workers: 1, leaseMs: 1000, flags: ["--allow-source"] };
    await cluster.startNode(spec);
    const monitor = await Monitor.connect(cluster.url);
    // Closed before the caller is killed (see Spy).
    const spy = await Spy.start(cluster.url);
    try {
      // One quick item, one that is running when the caller dies, then items
      // of a minute each: the stream drains in time only if they are dropped, not run.
      const items = [100, 3000, ...Array.from({ length: 20 }, () => 60_000)];
      const caller = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net=127.0.0.1",
          new URL("tests/fixtures/cluster_caller.ts", ROOT).pathname,
          cluster.url,
          JSON.stringify(items),
        ],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      const stderr = new Response(caller.stderr).text();
      const lines = caller.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let said = "";
      try {
        const reading = (async () => {
          while (!said.includes("done 1\n")) {
            const { value, done } = await lines.read();
            if (done) throw new Error(`The caller ended: ${said}`);
            said += value;
          }
        })();
        await within(reading, "the caller's first result", LONG_MS);
        await monitor.until((s) => s.lastSeq === items.length, "every chunk of the caller queued");
        // Killed while the node runs the second chunk, told to by the caller: no
        // question is left unanswered, to be put back after the node's timeout.
        await until(() => spy.answered("0", 1), "the node is told to run the second chunk");
        await spy.close();
        caller.kill("SIGKILL");
        await caller.status;
      } finally {
        try {
          caller.kill("SIGKILL");
        } catch {
          // Ended already.
        }
        await caller.status;
        await lines.cancel();
      }
      assert.equal(said, "started\ndone 1\n", await stderr);
      // The running chunk's result finds no one; every queued chunk is asked about, dropped and acked.
      const state = await monitor.drained("the dead caller's chunks are dropped");
      assert.equal(state.delivered, items.length, "each chunk delivered once: none put back");
      // A new caller's map runs on the same node as usual.
      await using opened = await openPool({ servers: cluster.url });
      const { pool } = opened;
      const more = Array.from({ length: 10 }, (_, i) => i);
      assert.deepEqual(
        await within(
          pool.map((n: number) => n * 3, more, { chunkSize: 2 }),
          "the next map",
          LONG_MS,
        ),
        more.map((n) => n * 3),
      );
      await monitor.drained();
    } finally {
      await spy.close();
      await monitor.close();
    }
  }),
});
