/**
 * The worker program on its own, started by hand and sent the pool's
 * messages: what it does with shared memory that the pool cannot see from
 * outside.
 */
import assert from "node:assert/strict";
import { CpuBoard } from "../lib/transport/cpu_board.ts";
import type { ChunkResult, ToWorker } from "../lib/_protocol.ts";
import { workerSource } from "../lib/worker/program.ts";
import { needs } from "./_needs.ts";

/** A worker running the pool's program, and a `post` that counts what it sends as the pool does. */
function startWorker(board: CpuBoard, options: { read?: Int32Array } = {}) {
  const url = URL.createObjectURL(
    new Blob([workerSource()], { type: "application/javascript" }),
  );
  const worker = new Worker(url, { type: "module" });
  const posted = new Int32Array(new SharedArrayBuffer(4));
  const slot = board.take();
  const post = (message: ToWorker) => {
    worker.postMessage(message);
    Atomics.add(posted, 0, 1);
    Atomics.add(board.posts, 0, 1);
  };
  post({
    type: "init",
    workerId: 1,
    stop: new Int32Array(new SharedArrayBuffer(4)),
    awake: { posted, board: board.slots, boardPosts: board.posts, slot },
    initializer: null,
    initArgs: [],
    read: options.read,
  });
  const answer = () =>
    new Promise<ChunkResult[]>((resolve) => worker.onmessage = (event) => resolve(event.data));
  return {
    post,
    answer,
    slot,
    [Symbol.dispose]() {
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

/** Waits, a millisecond at a time, until `check` holds. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = AbortSignal.timeout(10_000);
  while (!check()) {
    assert.ok(!deadline.aborted, what);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

Deno.test("a worker marks its board slot while it runs a batch and clears it once idle", async () => {
  const board = new CpuBoard(2);
  using worker = startWorker(board);
  // The task waits until the test has seen the slot marked, then returns.
  const seen = new Int32Array(new SharedArrayBuffer(4));
  worker.post({
    type: "define",
    fnId: 0,
    spec: { kind: "source", name: "wait", source: "(seen) => Atomics.wait(seen, 0, 0)" },
  });
  const answered = worker.answer();
  worker.post([[0, 0, 1, 0, false, false, [seen]]]);
  await until(() => Atomics.load(board.slots, worker.slot) === 1, "the slot was never marked");
  Atomics.store(seen, 0, 1);
  Atomics.notify(seen, 0);
  await answered;
  await until(() => Atomics.load(board.slots, worker.slot) === 0, "the slot stayed marked");
});

Deno.test("a worker answers numbers in shared memory in an array of its own, leaving them as sent", async () => {
  using worker = startWorker(new CpuBoard(1));
  worker.post({
    type: "define",
    fnId: 0,
    spec: { kind: "source", name: "double", source: "(x) => x * 2" },
  });
  const items = new Float64Array(new SharedArrayBuffer(8 * 5000)).map((_, i) => i);
  const answered = worker.answer();
  worker.post([[0, 0, 1, 0, false, false, items]]);
  const [[id, values, errors]] = await answered;
  assert.equal(id, 0);
  assert.equal(errors, null);
  assert.ok(values instanceof Float64Array && !(values.buffer instanceof SharedArrayBuffer));
  assert.deepEqual([...values], [...items].map((x) => x * 2));
  // A worker that died mid-chunk leaves these items to be run again elsewhere.
  assert.deepEqual([...items], Array.from({ length: 5000 }, (_, i) => i));
});

Deno.test("a worker runs a chunk of packed integers and answers doubles, leaving the items as sent", async () => {
  using worker = startWorker(new CpuBoard(1));
  worker.post({
    type: "define",
    fnId: 0,
    spec: { kind: "source", name: "half", source: "(x) => x / 2" },
  });
  for (const length of [10, 5000]) {
    const buffer = length < 4096 ? new ArrayBuffer(4 * length) : new SharedArrayBuffer(4 * length);
    const items = new Int32Array(buffer).map((_, i) => i);
    const answered = worker.answer();
    worker.post([[0, 0, 1, 0, false, false, items]]);
    const [[, values, errors]] = await answered;
    assert.equal(errors, null);
    assert.ok(values instanceof Float64Array);
    assert.deepEqual([...values], [...items].map((x) => x / 2));
    if (buffer instanceof SharedArrayBuffer) {
      assert.deepEqual([...items], Array.from({ length }, (_, i) => i));
    }
  }
});

Deno.test("a worker sends a chunk's results before it starts the next when the pool has handled its every answer", async () => {
  const read = new Int32Array(new SharedArrayBuffer(4));
  using worker = startWorker(new CpuBoard(1), { read });
  worker.post({
    type: "define",
    fnId: 0,
    spec: { kind: "source", name: "", source: "(x) => x + 1" },
  });
  worker.post({
    type: "define",
    fnId: 1,
    spec: { kind: "source", name: "", source: "(gate) => (Atomics.wait(gate, 0, 0), 'opened')" },
  });
  const gate = new Int32Array(new SharedArrayBuffer(4));
  let answered = worker.answer();
  // The second chunk blocks its worker until the first one's results are in.
  worker.post([[0, 0, 1, 0, false, false, [1]], [1, 1, 2, 1, false, false, [gate]]]);
  const deadline = setTimeout(() => Atomics.store(gate, 0, 2), 10_000);
  const [[id, values]] = await answered;
  assert.equal(Atomics.load(gate, 0), 0, "the first chunk's results waited for the second chunk");
  assert.equal(id, 0);
  assert.deepEqual(values, [2]);
  Atomics.add(read, 0, 1);
  answered = worker.answer();
  Atomics.store(gate, 0, 1);
  Atomics.notify(gate, 0);
  clearTimeout(deadline);
  const [[id2, values2]] = await answered;
  assert.equal(id2, 1);
  assert.deepEqual(values2, ["opened"]);
});

const pieces = new URL("../lib/worker/", import.meta.url);

Deno.test(
  needs("workerSource() declares every function and value its pieces declare or import", {
    name: "read",
    path: pieces,
  }),
  async () => {
    const source = workerSource();
    const declared = (name: string) =>
      new RegExp(`^(?:async function|function|class|const) ${name}\\b`, "m").test(source);
    const dir = pieces;
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.endsWith(".ts") || entry.name === "program.ts") continue;
      const text = await Deno.readTextFile(new URL(entry.name, dir));
      // A top-level value a piece declares, the program must declare too.
      for (
        const [, name] of text.matchAll(
          /^(?:export )?(?:async function|function|class|const|let) (\w+)/gm,
        )
      ) {
        assert.ok(declared(name), `${entry.name} declares ${name}, which the program lacks`);
      }
      // A value a piece imports, the program must declare: it imports nothing at run time.
      for (const [, names] of text.matchAll(/^import \{([^}]*)\} from/gm)) {
        for (const item of names.split(",").map((name) => name.trim())) {
          if (item === "" || item.startsWith("type ")) continue;
          assert.ok(declared(item), `${entry.name} imports ${item}, which the program lacks`);
        }
      }
    }
  },
);
