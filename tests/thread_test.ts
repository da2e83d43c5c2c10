/** Workers as threads: what a worker is started with, with and without the stay-awake wait. */
import assert from "node:assert/strict";
import { ThreadTransport } from "../lib/transport/thread.ts";
import type { LinkListener } from "../lib/transport/link.ts";
import type { ToWorker } from "../lib/_protocol.ts";

const deaf: LinkListener = { onMessage() {}, onFailure() {} };
const start = { initializer: null, initArgs: [] };

/** Runs `body` with `Worker` replaced by one that records what it is posted. */
function withRecordedWorkers(body: (posted: ToWorker[][]) => void): void {
  const real = globalThis.Worker;
  const posted: ToWorker[][] = [];
  class RecordingWorker {
    onmessage = null;
    onerror = null;
    onmessageerror = null;
    #messages: ToWorker[] = [];
    constructor() {
      posted.push(this.#messages);
    }
    postMessage(message: ToWorker): void {
      this.#messages.push(message);
    }
    terminate(): void {}
  }
  globalThis.Worker = RecordingWorker as unknown as typeof Worker;
  try {
    body(posted);
  } finally {
    globalThis.Worker = real;
  }
}

Deno.test("ThreadTransport with stayAwake: false starts workers with no awake field", () => {
  withRecordedWorkers((posted) => {
    const transport = new ThreadTransport({ workers: 1, permissions: undefined, stayAwake: false });
    const link = transport.start({ id: 1, ...start }, deaf);
    const [init] = posted[0];
    assert.ok(!Array.isArray(init) && init.type === "init");
    assert.equal("awake" in init, false);
    assert.ok(init.claims instanceof Int32Array);
    assert.ok(init.read instanceof Int32Array);
    link.terminate();
  });
});

Deno.test("ThreadTransport gives each worker a board slot to wait awake on, freed when it ends", () => {
  withRecordedWorkers((posted) => {
    const transport = new ThreadTransport({ workers: 1, permissions: undefined, stayAwake: true });
    const slotOf = (worker: number) => {
      const [init] = posted[worker];
      assert.ok(!Array.isArray(init) && init.type === "init" && init.awake !== undefined);
      return init.awake.slot;
    };
    // Two slots a worker: one for it, one for its replacement while it retires.
    const first = transport.start({ id: 1, ...start }, deaf);
    const second = transport.start({ id: 2, ...start }, deaf);
    const third = transport.start({ id: 3, ...start }, deaf);
    assert.deepEqual([slotOf(0), slotOf(1), slotOf(2)], [0, 1, -1]);
    first.terminate();
    first.terminate();
    const fourth = transport.start({ id: 4, ...start }, deaf);
    const fifth = transport.start({ id: 5, ...start }, deaf);
    assert.deepEqual([slotOf(3), slotOf(4)], [0, -1]);
    for (const link of [second, third, fourth, fifth]) link.terminate();
  });
});

Deno.test("a thread link takes back a chunk the worker has not started, once", () => {
  withRecordedWorkers(() => {
    const transport = new ThreadTransport({ workers: 1, permissions: undefined, stayAwake: false });
    const link = transport.start({ id: 1, ...start }, deaf);
    const [a, b] = [{ slot: -1, tag: 0 }, { slot: -1, tag: 0 }];
    link.claim(a);
    link.claim(b);
    assert.deepEqual([a, b], [{ slot: 0, tag: 1 }, { slot: 1, tag: 2 }]);
    assert.equal(link.takeBack(a), "taken");
    // Its slot no longer holds its tag: as if the worker had finished it.
    assert.equal(link.takeBack(a), "done");
    link.terminate();
  });
});
