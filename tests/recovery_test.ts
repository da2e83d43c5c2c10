/** What follows a worker's death: delivered, failed, queued again, or a broken pool. */
import assert from "node:assert/strict";
import type { Call, Chunk } from "../lib/engine/call.ts";
import {
  type CrashRules,
  type Death,
  initializerDeath,
  initializerError,
  planRecovery,
  silentDeath,
  type Step,
} from "../lib/engine/recovery.ts";
import type { ChunkResult, SerializedError } from "../lib/_protocol.ts";
import { WorkerCrashedError, WorkerInitError } from "../lib/errors.ts";

/** Function ids in these tests: 0 and 2 are source, 1 comes from a module. */
const rules: CrashRules = { maxCrashes: 3, hasInitializer: false, isModule: (fnId) => fnId === 1 };
const worker = { id: 4, answered: true };

function chunk(
  id: number,
  start: number,
  length: number,
  { fnId = 0, crashes = 0 }: { fnId?: number; crashes?: number } = {},
): Chunk {
  // Recovery reads nothing of a call but its function's id.
  const call = { fnId } as unknown as Call;
  const items = Array.from({ length }, (_, i) => start + i);
  return { id, call, start, items, crashes, slot: -1, tag: 0 };
}

function result(of: Chunk, count: number): ChunkResult {
  return [of.id, (of.items as number[]).slice(0, count).map((n) => n * 2), null, 0, 1];
}

function death(fields: Partial<Death>): Death {
  return {
    type: "dying",
    how: "close",
    error: null,
    results: [],
    chunkId: null,
    index: 0,
    loading: null,
    ...fields,
  };
}

function serialized(message: string): SerializedError {
  return { type: "Error", name: "Error", message, stack: undefined, props: {} };
}

/** The steps with each `fail` step's error made for its first item, so they compare as data. */
function settled(steps: Step[]): unknown[] {
  return steps.map((step) => {
    if (step.kind !== "fail") return step;
    const { error, ...rest } = step;
    const first = error(step.chunk.start + step.from);
    return { ...rest, error: { name: first.name, message: first.message, index: first.index } };
  });
}

Deno.test("planRecovery() delivers what was finished, retries the running item alone, and queues the rest", () => {
  const done = chunk(1, 0, 3);
  const running = chunk(2, 3, 5);
  const waiting = chunk(3, 8, 2);
  const partial = result(running, 2);
  const steps = planRecovery(
    death({ chunkId: 2, index: 2, results: [result(done, 3), partial] }),
    [done, running, waiting],
    worker,
    rules,
  );
  assert.deepEqual(steps, [
    { kind: "deliver", chunk: done, result: result(done, 3), count: 3 },
    { kind: "deliver", chunk: running, result: partial, count: 2 },
    { kind: "retry", chunk: running, from: 2, to: 3, crashes: 1 },
    { kind: "retry", chunk: running, from: 3, to: 5, crashes: 0 },
    { kind: "requeue", chunk: waiting },
  ]);
});

Deno.test("planRecovery() fails the running item once it has killed maxCrashes workers", async (t) => {
  await t.step("the items after it are queued again, with a clean count", () => {
    const running = chunk(2, 10, 4, { crashes: 2 });
    const steps = planRecovery(
      death({ how: "exit", chunkId: 2, index: 2, results: [result(running, 2)] }),
      [running],
      worker,
      rules,
    );
    assert.deepEqual(settled(steps), [
      { kind: "deliver", chunk: running, result: result(running, 2), count: 2 },
      {
        kind: "fail",
        chunk: running,
        from: 2,
        to: 3,
        error: {
          name: "WorkerCrashedError",
          message:
            "Worker 4 died while running task 12 (the task called Deno.exit()); it was tried on 3 workers",
          index: 12,
        },
      },
      { kind: "retry", chunk: running, from: 3, to: 4, crashes: 0 },
    ]);
  });
  await t.step("its error names the worker and the item, with what escaped as cause", () => {
    const running = chunk(2, 0, 1);
    const steps = planRecovery(
      death({ how: "uncaught", error: serialized("boom"), chunkId: 2, index: 0 }),
      [running],
      worker,
      { ...rules, maxCrashes: 1 },
    );
    assert.equal(steps.length, 1);
    const step = steps[0];
    assert.ok(step.kind === "fail");
    const error = step.error(0);
    assert.ok(error instanceof WorkerCrashedError);
    assert.equal(
      error.message,
      "Worker 4 died while running task 0 (an uncaught error: boom); it was tried on 1 worker",
    );
    assert.equal(error.workerId, 4);
    assert.equal(error.index, 0);
    assert.ok(error.cause instanceof Error);
    assert.equal(error.cause.message, "boom");
  });
});

Deno.test("planRecovery() blames from the first item a chunk that died before its first", () => {
  const running = chunk(2, 0, 3);
  const steps = planRecovery(death({ chunkId: 2, index: -1 }), [running], worker, rules);
  assert.deepEqual(steps, [
    { kind: "retry", chunk: running, from: 0, to: 1, crashes: 1 },
    { kind: "retry", chunk: running, from: 1, to: 3, crashes: 0 },
  ]);
});

Deno.test("planRecovery() blames a whole chunk for the function it died loading", async (t) => {
  const other = chunk(1, 0, 2, { fnId: 0 });
  const first = chunk(2, 0, 3, { fnId: 1, crashes: 2 });
  const second = chunk(3, 3, 3, { fnId: 1 });
  await t.step("a module's import", () => {
    const steps = planRecovery(
      death({ loading: 1, results: [result(other, 2)] }),
      [other, first, second],
      worker,
      rules,
    );
    assert.deepEqual(settled(steps), [
      { kind: "deliver", chunk: other, result: result(other, 2), count: 2 },
      {
        kind: "fail",
        chunk: first,
        from: 0,
        to: 3,
        error: {
          name: "WorkerCrashedError",
          message: "Worker 4 died while importing the module of task 0 (the module called " +
            "self.close()); it was tried on 3 workers",
          index: 0,
        },
      },
      { kind: "requeue", chunk: second },
    ]);
  });
  await t.step("a source's compilation", () => {
    const compiled = chunk(2, 5, 2, { fnId: 2, crashes: 2 });
    const steps = planRecovery(death({ loading: 2 }), [compiled], worker, rules);
    assert.deepEqual(settled(steps), [{
      kind: "fail",
      chunk: compiled,
      from: 0,
      to: 2,
      error: {
        name: "WorkerCrashedError",
        message: "Worker 4 died while loading the function of task 5 (the function called " +
          "self.close()); it was tried on 3 workers",
        index: 5,
      },
    }]);
  });
  await t.step("retried whole before maxCrashes", () => {
    const fresh = chunk(2, 0, 3, { fnId: 1 });
    const steps = planRecovery(death({ loading: 1, index: 2 }), [fresh], worker, rules);
    assert.deepEqual(steps, [{ kind: "retry", chunk: fresh, from: 0, to: 3, crashes: 1 }]);
  });
});

Deno.test("planRecovery() blames nothing for a death between chunks", () => {
  const done = chunk(1, 0, 2);
  const waiting = chunk(2, 2, 2, { crashes: 1 });
  const steps = planRecovery(death({ results: [result(done, 2)] }), [done, waiting], worker, rules);
  assert.deepEqual(steps, [
    { kind: "deliver", chunk: done, result: result(done, 2), count: 2 },
    { kind: "requeue", chunk: waiting },
  ]);
});

Deno.test("silentDeath() blames the first chunk a worker holds from its first item", () => {
  const first = chunk(7, 0, 2);
  const second = chunk(8, 2, 1);
  const made = silentDeath("a message from the worker could not be read", first);
  assert.deepEqual(made, {
    type: "dying",
    how: "uncaught",
    error: serialized("a message from the worker could not be read"),
    results: [],
    chunkId: 7,
    index: 0,
    loading: null,
  });
  assert.deepEqual(planRecovery(made, [first, second], worker, rules), [
    { kind: "retry", chunk: first, from: 0, to: 1, crashes: 1 },
    { kind: "retry", chunk: first, from: 1, to: 2, crashes: 0 },
    { kind: "requeue", chunk: second },
  ]);
  assert.equal(silentDeath("gone", undefined).chunkId, null);
});

Deno.test("initializerDeath() breaks the pool only for a death its initializer caused", async (t) => {
  const withInitializer = { ...rules, hasInitializer: true };
  const fresh = { id: 2, answered: false };
  await t.step("while it ran", () => {
    const error = initializerDeath(
      death({ loading: "init", how: "uncaught", error: serialized("no config") }),
      worker,
      rules,
    );
    assert.ok(error instanceof WorkerInitError);
    assert.equal(
      error.message,
      "The pool's initializer failed in worker 4: the worker died while it ran " +
        "(an uncaught error: no config)",
    );
    assert.ok(error.cause instanceof Error);
    assert.equal(error.cause.message, "no config");
  });
  await t.step("before the worker's first task", () => {
    const error = initializerDeath(death({ how: "exit" }), fresh, withInitializer);
    assert.equal(
      error?.message,
      "The pool's initializer failed in worker 2: the worker died before its first task " +
        "(the initializer called Deno.exit())",
    );
    assert.equal(error?.cause, undefined);
  });
  await t.step("not once the worker has answered", () => {
    assert.equal(initializerDeath(death({}), worker, withInitializer), null);
  });
  await t.step("not in a pool without an initializer", () => {
    assert.equal(initializerDeath(death({}), fresh, rules), null);
  });
  await t.step("not while a chunk ran, nor while a function loaded", () => {
    assert.equal(initializerDeath(death({ chunkId: 3 }), fresh, withInitializer), null);
    assert.equal(initializerDeath(death({ loading: 1 }), fresh, withInitializer), null);
  });
});

Deno.test("initializerError() names the worker and keeps what the initializer threw as cause", () => {
  const error = initializerError({ id: 3, answered: false }, serialized("no config"));
  assert.ok(error instanceof WorkerInitError);
  assert.equal(error.message, "The pool's initializer failed in worker 3: no config");
  assert.ok(error.cause instanceof Error);
  assert.equal(error.cause.message, "no config");
});
