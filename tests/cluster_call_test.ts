/**
 * The caller's side of a cluster call, without a server: what it lets a
 * node run, how it takes outcomes once each, what it blames when a chunk
 * comes back, and what it asks a node to send again.
 */

import assert from "node:assert/strict";
import { type CallHost, ClusterCall } from "../lib/cluster/_call.ts";
import type { NodeRequest, Outcome } from "../lib/cluster/_messages.ts";
import { TaskError, WorkerCrashedError } from "../lib/mod.ts";

interface Fake {
  host: CallHost;
  cancelled: string[];
  forgotten: number[];
}

function fakeHost(maxCrashes = 3): Fake {
  const cancelled: string[] = [];
  const forgotten: number[] = [];
  let seq = 0;
  const host: CallHost = {
    inbox: "_INBOX.test",
    publish: () => Promise.resolve(++seq),
    forget: (seq) => forgotten.push(seq),
    register: () => {},
    unregister: () => {},
    track: () => {},
    cancel: (call) => cancelled.push(call),
    recorder: undefined,
    maxCrashes,
  };
  return { host, cancelled, forgotten };
}

/** A call over items `start..` in one chunk of `size`, and what it was handed. */
function callOf(fake: Fake, size: number) {
  const taken: [number, Outcome][] = [];
  const errors: unknown[] = [];
  const call = new ClusterCall(fake.host, "7", {
    fn: { kind: "source", source: "(n) => n", name: "id" },
    spread: false,
    taskName: "id",
  }, {
    onOutcomes: (start, outcomes) => {
      for (const outcome of outcomes) taken.push([start + outcome.offset, outcome]);
    },
    onError: (error) => errors.push(error),
  });
  call.send(Array.from({ length: size }, (_, i) => i), 100);
  return { call, taken, errors };
}

const ok = (offset: number): Outcome => ({ offset, ok: true, values: [offset] });

function report(
  type: "progress" | "result",
  outcomes: Outcome[],
  crashes: [number, number][] = [],
): NodeRequest & { type: "progress" | "result" } {
  return type === "progress"
    ? { type, call: "7", chunk: 0, outcomes, crashes }
    : { type, call: "7", chunk: 0, outcomes, crashes, node: "n", start: 0, end: 0 };
}

Deno.test("ClusterCall.plan() gives a first node every item, and nothing once the chunk is done", () => {
  const fake = fakeHost();
  const { call, taken } = callOf(fake, 3);
  assert.deepEqual(call.plan(0, true), { todo: [0, 1, 2], crashes: [], maxCrashes: 3 });
  assert.deepEqual(
    call.finish(report("result", [ok(0), ok(1), ok(2)]) as NodeRequest & { type: "result" }),
    [],
  );
  assert.deepEqual(taken.map(([index]) => index), [100, 101, 102]);
  assert.equal(call.plan(0, true), null);
  assert.equal(call.plan(1, true), null, "a chunk never sent");
});

Deno.test("ClusterCall takes each item's outcome once, however often it comes", () => {
  const fake = fakeHost();
  const { call, taken } = callOf(fake, 3);
  call.plan(0, true);
  call.progress(report("progress", [ok(1)]));
  call.progress(report("progress", [ok(1), ok(0)]));
  const missing = call.finish(
    report("result", [ok(0)]) as NodeRequest & { type: "result" },
  );
  assert.deepEqual(missing, [2], "the caller asks again for what it lacks");
  call.finish(report("result", [ok(2), ok(2)]) as NodeRequest & { type: "result" });
  assert.deepEqual(taken.map(([index]) => index), [101, 100, 102]);
});

Deno.test("ClusterCall takes of a run of values only the items it had not had", () => {
  const fake = fakeHost();
  const { call, taken } = callOf(fake, 6);
  call.plan(0, true);
  call.progress(report("progress", [ok(1), ok(3)]));
  call.progress(report("progress", [{ offset: 0, ok: true, values: [0, 1, 2, 3, 4] }]));
  assert.deepEqual(
    taken.map(([index, o]) => [index, o.ok ? Array.from(o.values) : null]),
    [[101, [1]], [103, [3]], [100, [0]], [102, [2]], [104, [4]]],
  );
  // A run that would reach past the chunk is not one of its outcomes.
  call.progress(report("progress", [{ offset: 5, ok: true, values: [5, 6] }]));
  assert.equal(taken.length, 5);
  call.progress(report("progress", [{ offset: 5, ok: true, values: new Float64Array([5]) }]));
  assert.deepEqual(taken.map(([index]) => index).at(-1), 105);
  assert.equal(call.plan(0, true), null, "every item is in");
});

Deno.test("ClusterCall ignores outcomes that are not ones, or at offsets outside the chunk", () => {
  const fake = fakeHost();
  const { call, taken } = callOf(fake, 2);
  call.plan(0, true);
  call.progress(report("progress", [ok(-1), ok(2), ok(0.5), { ...ok(0), offset: NaN }]));
  call.progress(report("progress", [null, 1, { offset: 0 }] as unknown as Outcome[]));
  // A failure no node would send: no error to revive, or an unknown kind.
  call.progress(report("progress", [
    { offset: 0, ok: false, kind: "crash", error: null, workerId: 0 },
    { offset: 0, ok: false, kind: "boom", error: { message: "", props: {} }, workerId: 0 },
  ] as unknown as Outcome[]));
  call.progress(
    { ...report("progress", [ok(1)]), crashes: 7 } as unknown as NodeRequest & {
      type: "progress";
    },
  );
  assert.deepEqual(taken.map(([index]) => index), [101]);
  // The real outcome of item 0 is still taken.
  call.progress(report("progress", [ok(0)]));
  assert.deepEqual(taken.map(([index]) => index), [101, 100]);
});

Deno.test("ClusterCall blames the first unfinished item when a chunk is delivered again", () => {
  const fake = fakeHost(2);
  const { call, taken } = callOf(fake, 4);
  call.plan(0, true);
  call.progress(report("progress", [ok(0), ok(2)], [[3, 1]]));
  // The node died; the next one is told what is left, and the crash counts.
  assert.deepEqual(call.plan(0, true), { todo: [1, 3], crashes: [[1, 1], [3, 1]], maxCrashes: 2 });
  // A question from a node still running it is no new delivery.
  assert.ok(call.plan(0, false) !== null);
  // Died again: item 1 reaches maxCrashes and fails alone.
  assert.deepEqual(call.plan(0, true), { todo: [3], crashes: [[3, 1]], maxCrashes: 2 });
  const [index, outcome] = taken[taken.length - 1];
  assert.equal(index, 101);
  assert.ok(!outcome.ok);
  const error = call.error(100, outcome);
  assert.ok(error instanceof WorkerCrashedError);
  assert.equal(error.index, 101);
  assert.match(error.message, /^Task 101 \(id\) was given up: .*tried 2 times$/);
});

Deno.test("ClusterCall blames no item when a node asks again about the same delivery", () => {
  const fake = fakeHost(2);
  const { call } = callOf(fake, 2);
  assert.deepEqual(call.plan(0, true, 1)?.todo, [0, 1]);
  // The answer was lost; the same node asks again.
  assert.deepEqual(call.plan(0, true, 1), { todo: [0, 1], crashes: [], maxCrashes: 2 });
  // The next delivery: the node before died.
  assert.deepEqual(call.plan(0, true, 2), { todo: [0, 1], crashes: [[0, 1]], maxCrashes: 2 });
  // An older delivery's question, late: no new blame.
  assert.deepEqual(call.plan(0, true, 1)?.crashes, [[0, 1]]);
});

Deno.test("ClusterCall fails every unfinished item of a chunk the stream gave up", () => {
  const fake = fakeHost();
  const { call, taken } = callOf(fake, 3);
  call.plan(0, true);
  call.progress(report("progress", [ok(1)]));
  call.lost(0, 10);
  assert.deepEqual(taken.map(([index, o]) => [index, o.ok]), [
    [101, true],
    [100, false],
    [102, false],
  ]);
  assert.equal(call.plan(0, true), null);
});

Deno.test("ClusterCall.end() forgets queued chunks and cancels running ones", async () => {
  const fake = fakeHost();
  const { call } = callOf(fake, 2);
  await Promise.resolve();
  call.plan(0, true);
  call.end();
  assert.deepEqual(fake.cancelled, ["7"]);
  assert.deepEqual(fake.forgotten, [1]);
  assert.equal(call.plan(0, true), null);
  // Never started: nothing to cancel.
  const idle = fakeHost();
  callOf(idle, 2).call.end();
  assert.deepEqual(idle.cancelled, []);
});

Deno.test("ClusterCall.error() shapes task failures as TaskError with the worker's error", () => {
  const fake = fakeHost();
  const { call } = callOf(fake, 1);
  const error = call.error(5, {
    offset: 1,
    ok: false,
    kind: "task",
    error: { type: "RangeError", name: "RangeError", message: "no", stack: undefined, props: {} },
    workerId: 2,
  });
  assert.ok(error instanceof TaskError);
  assert.equal(error.index, 6);
  assert.ok(error.cause instanceof RangeError);
  assert.equal(error.message, "Task 6 (id) failed: RangeError: no");
});
