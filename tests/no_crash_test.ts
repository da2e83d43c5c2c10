/**
 * Nothing a caller passes can crash the program: an option, an item, a
 * callback or a permission ends as the rejection of the call it belongs to,
 * or as an error thrown by the constructor, never as an uncaught error that
 * ends the process.
 *
 * Where the failure was a crash or a program that never exits, the case
 * runs as its own program (`fixtures/no_crash.ts`), so that a regression
 * fails its test instead of ending the test run.
 */
import assert from "node:assert/strict";
import { Pool, PoolClosedError, TaskError } from "../lib/mod.ts";
import { rejection, settles } from "./_deadline.ts";
import { type ProcessResult, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

const runs = { name: "run", command: Deno.execPath() } as const;

/**
 * Runs one case of `fixtures/no_crash.ts` with `flags`; asserts that it
 * exited by itself with code 0 and printed `lines`, one JSON value each.
 */
async function assertCase(name: string, lines: unknown[], flags = ["-A"]): Promise<void> {
  await runCase(name, lines, flags);
}

/** `assertCase`, returning what the program printed. */
async function runCase(name: string, lines: unknown[], flags: string[]): Promise<ProcessResult> {
  const result = await runDeno(["run", ...flags, "tests/fixtures/no_crash.ts", name]);
  assert.equal(result.code, 0, `exit code ${result.code}; stderr:\n${result.stderr}`);
  assert.deepEqual(
    result.stdout.trimEnd().split("\n"),
    [...lines.map((line) => JSON.stringify(line)), "exited normally"],
  );
  return result;
}

Deno.test({
  ...needs(
    "a task that posts on its worker's channel fails with TaskError, and the program goes on",
    runs,
  ),
  fn: () =>
    assertCase("task posts on the worker's channel", [
      {
        error: "TaskError",
        message: "Task 0 failed: TypeError: Cannot post a message from a pool task as the " +
          "worker's channel belongs to the pool: a task hands back its result by returning it",
        cause: {
          error: "TypeError",
          message: "Cannot post a message from a pool task as the worker's channel belongs to " +
            "the pool: a task hands back its result by returning it",
        },
      },
      { value: 2 },
    ]),
});

const deniedRead =
  '(deno.permissions.read) invalid type: integer `5`, expected "inherit" or boolean or string[]';

Deno.test({
  ...needs("`new Pool()` throws a TypeError for initArgs that cannot be cloned", runs),
  fn: () =>
    assertCase("initArgs that cannot be cloned", [{
      error: "TypeError",
      message: 'Cannot use "initArgs" as its values must be structured-cloneable ' +
        "(no functions, symbols or objects with methods): " +
        "DataCloneError: Symbol(key) could not be cloned.",
      cause: { error: "DataCloneError", message: "Symbol(key) could not be cloned." },
    }]),
});

Deno.test("`new Pool()` throws a TypeError for initArgs that is not an array", () => {
  assert.throws(
    () => new Pool({ initArgs: 5 as never }),
    new TypeError('Cannot use "initArgs" as it must be an array: current value is 5'),
  );
});

Deno.test({
  ...needs("`Pool.map()` rejects with WorkerInitError when Deno rejects the permissions", runs),
  fn: () => {
    const refused = {
      error: "WorkerInitError",
      message: `Cannot start worker 1 as Deno refused to create it: TypeError: ${deniedRead}`,
      cause: { error: "TypeError", message: deniedRead },
    };
    return assertCase("permissions Deno rejects", [refused, refused]);
  },
});

Deno.test({
  ...needs("a pool whose permissions Deno rejects breaks even with no call made", runs),
  fn: () =>
    assertCase("permissions Deno rejects, with no call", [
      {
        error: "WorkerInitError",
        message: `Cannot start worker 1 as Deno refused to create it: TypeError: ${deniedRead}`,
        cause: { error: "TypeError", message: deniedRead },
      },
      { value: "joined" },
    ]),
});

Deno.test({
  ...needs(
    "`Pool.apply()` rejects with WorkerInitError for permissions the program does not hold",
    runs,
  ),
  fn: () =>
    assertCase("permissions the program does not hold", [{
      error: "WorkerInitError",
      message: "Cannot start worker 1 as Deno refused to create it: " +
        "NotCapable: Can't escalate parent thread permissions",
      cause: { error: "NotCapable", message: "Can't escalate parent thread permissions" },
    }], []),
});

Deno.test({
  ...needs("every method rejects with what onProgress threw, and the pool goes on", runs),
  fn: () => {
    const thrown = { error: "RangeError", message: "stop at 1" };
    return assertCase("onProgress throws", [
      thrown,
      thrown,
      thrown,
      thrown,
      thrown,
      { value: "still working" },
    ]);
  },
});

Deno.test({
  ...needs("every method rejects an onProgress that is not a function with a TypeError", runs),
  fn: () => {
    const refused = {
      error: "TypeError",
      message: 'Cannot use "onProgress" as it must be a function: current value is 5',
    };
    return assertCase("onProgress is not a function", [
      refused,
      refused,
      refused,
      refused,
      refused,
      { value: "still working" },
    ]);
  },
});

Deno.test("`Pool.map()` rejects with PoolClosedError when its onProgress terminates the pool", async () => {
  const pool = new Pool({ workers: 2 });
  try {
    const items = Array.from({ length: 100 }, (_, i) => i);
    const error = await rejection(
      pool.map((n: number) => n, items, {
        chunkSize: 1,
        onProgress: (done) => {
          if (done === 10) void pool.terminate();
        },
      }),
      "the call",
    );
    assert.ok(error instanceof PoolClosedError, String(error));
    assert.equal(error.message, "The pool was terminated");
    await settles(pool.join(), "join");
    assert.equal(pool.liveWorkers, 0);
  } finally {
    await pool.terminate();
  }
});

Deno.test({
  ...needs("`new Pool()` throws a TypeError for a recorder that is not a Recorder", runs),
  fn: () =>
    assertCase("recorder that is not a Recorder", [{
      error: "TypeError",
      message: 'Cannot use "recorder" as it must be a Recorder: current value is an object',
    }]),
});

Deno.test({
  ...needs("every method rejects with what a recorder's chunk() threw", runs),
  fn: () => {
    const thrown = { error: "URIError", message: "cannot record" };
    return assertCase("recorder whose chunk throws", Array(6).fill(thrown));
  },
});

Deno.test({
  ...needs(
    "every method rejects a signal that is not an AbortSignal, and the pool still closes",
    runs,
  ),
  fn: () => {
    const refused = {
      error: "TypeError",
      message: 'Cannot use "signal" as it must be an AbortSignal: current value is an object',
    };
    return assertCase("signal that is not an AbortSignal", Array(6).fill(refused));
  },
});

Deno.test({
  ...needs(
    "`Pool.imap()` rejects when its input's iterator cannot be had, and the pool still closes",
    runs,
  ),
  fn: () => {
    const thrown = { error: "EvalError", message: "no iterator" };
    return assertCase("input whose iterator cannot be had", [thrown, thrown, thrown]);
  },
});

Deno.test({
  ...needs(
    "`Pool.map()` rejects when an element of its input throws as it is read, and the pool still closes",
    runs,
  ),
  fn: () => {
    const thrown = { error: "EvalError", message: "no item 30" };
    return assertCase("array whose element getter throws", [thrown, thrown]);
  },
});

/** Every method, called with `items` and `options`, as a promise of its first result. */
function callEach(
  pool: Pool,
  items: unknown,
  options: unknown,
): [string, () => Promise<unknown>][] {
  const identity = (n: unknown) => n;
  const any = items as unknown[];
  const opts = options as Record<string, never>;
  return [
    ["map", () => pool.map(identity, any, opts)],
    ["starmap", () => pool.starmap(identity, any as [unknown][], opts)],
    ["mapSettled", () => pool.mapSettled(identity, any, opts)],
    ["apply", () => pool.apply(identity, [1], opts)],
    ["imap", () => pool.imap(identity, any, opts).next()],
    ["imapUnordered", () => pool.imapUnordered(identity, any, opts).next()],
  ];
}

Deno.test("every method rejects, never throws, for options whose getters throw", async () => {
  await using pool = new Pool({ workers: 1 });
  for (const option of ["chunkSize", "signal", "onProgress", "maxInFlight"]) {
    const thrown = new RangeError(`no ${option}`);
    const options = Object.defineProperty({}, option, {
      get() {
        throw thrown;
      },
    });
    for (const [method, call] of callEach(pool, [1, 2], options)) {
      if (option === "maxInFlight" && !method.startsWith("imap")) continue;
      if (option !== "signal" && method === "apply") continue;
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => promise = call(), `${method} threw for ${option}`);
      assert.equal(await rejection(promise as Promise<unknown>, `${method}`), thrown);
    }
  }
});

Deno.test("every method rejects, never throws, for an input that is a revoked Proxy", async () => {
  await using pool = new Pool({ workers: 1 });
  const { proxy, revoke } = Proxy.revocable([], {});
  revoke();
  for (const [method, call] of callEach(pool, proxy, {})) {
    if (method === "apply") continue;
    let promise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => promise = call(), `${method} threw`);
    const error = await rejection(promise as Promise<unknown>, method);
    assert.ok(error instanceof TypeError, `${method}: ${error}`);
    assert.match(error.message, /revoked/);
  }
});

Deno.test({
  ...needs("`Pool.map()` runs a task whose name is a symbol", runs),
  fn: () => assertCase("task whose name is a symbol", [{ value: [2, 4] }, { value: 42 }]),
});

Deno.test({
  ...needs("a pool runs an initializer whose name is a symbol", runs),
  fn: () => assertCase("initializer whose name is a symbol", [{ value: "initialized" }]),
});

Deno.test({
  ...needs(
    "`Pool.map()` rejects a module task whose export name is not a string with a TypeError",
    runs,
  ),
  fn: () =>
    assertCase("module task whose export name is a symbol", [{
      error: "TypeError",
      message: 'Cannot run "fn" in a worker as its module URL and export name must be strings: ' +
        `current values are "${new URL("./fixtures/no_crash.ts", import.meta.url).href}" ` +
        "and Symbol(double)",
    }]),
});

Deno.test("`Pool.apply()` runs a task whose name getter throws, naming no task in its errors", async () => {
  await using pool = new Pool({ workers: 1 });
  const task = (n: number) => {
    if (n < 0) throw new RangeError("negative");
    return n * 2;
  };
  Object.defineProperty(task, "name", {
    get() {
      throw new Error("no name");
    },
  });
  assert.equal(await settles(pool.apply(task, [21]), "apply"), 42);
  const error = await rejection(pool.apply(task, [-1]), "apply");
  assert.ok(error instanceof TaskError, String(error));
  assert.equal(error.message, "Task 0 failed: RangeError: negative");
});

Deno.test({
  ...needs("`Pool.map()` rejects an item whose getter throws what has no string form", runs),
  fn: () =>
    assertCase("item whose getter throws what has no string form", [{
      error: "TypeError",
      message: "Cannot send item 1 to a worker: [object Object] (items must be " +
        "structured-cloneable: no functions, symbols or objects with methods)",
    }]),
});

Deno.test({
  ...needs(
    "`Pool.mapSettled()` fails an item that clones only on some reads, instead of resending it for ever",
    runs,
  ),
  fn: () =>
    assertCase("item whose getter throws on every other read", [
      {
        value: {
          fulfilled: 19_999,
          flaky: "TypeError: Cannot send item 15000 to a worker: flaky (items must be " +
            "structured-cloneable: no functions, symbols or objects with methods)",
        },
      },
      { value: "still working" },
    ]),
});

Deno.test("`new Pool()` throws a RangeError for more workers than it can start", async () => {
  for (const workers of [1025, 100_000, 2 ** 31]) {
    let pool: Pool | undefined;
    try {
      assert.throws(
        () => pool = new Pool({ workers }),
        new RangeError(
          `Cannot use "workers" as it must be at most 1024 (each worker is a thread with a heap ` +
            `of its own): current value is ${workers}`,
        ),
      );
    } finally {
      // Made after all: end it before it starts a worker.
      await pool?.terminate();
    }
  }
});

Deno.test({
  ...needs(
    "an idleTimeout longer than a timer holds does not make the idle timer fire every ms",
    runs,
  ),
  fn: async () => {
    const result = await runCase("idleTimeout beyond what a timer holds", [
      { value: 1 },
      { value: 2 },
    ], ["-A"]);
    // The platform's own report of a delay it cut to 1 ms.
    assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning/);
  },
});

Deno.test({
  ...needs(
    "`Pool.apply()` rejects with TaskError for an error whose fields its class refuses",
    runs,
  ),
  fn: () =>
    assertCase("error whose fields its class refuses", [
      {
        error: "TaskError",
        message: "Task 0 failed: QuotaExceededError: over the quota",
        cause: { error: "QuotaExceededError", message: "over the quota" },
      },
      { value: { quotaExceeded: true, quota: null } },
    ]),
});

Deno.test("`Pool.imap()` throws a TypeError when its input's iterator returns something that is not an object", async () => {
  // Terminated, not closed, at the end: a stream that never ends would hold a closing pool open.
  const pool = new Pool({ workers: 1 });
  try {
    for (const result of [5, undefined, "done"]) {
      const input = {
        [Symbol.iterator]: () => ({ next: () => result }),
      } as unknown as Iterable<number>;
      const error = await rejection(pool.imap((n: number) => n, input).next(), "next()");
      assert.ok(error instanceof TypeError, String(error));
      assert.equal(
        error.message,
        `Cannot imap as the input's iterator must return objects: it returned ${String(result)}`,
      );
    }
  } finally {
    await pool.terminate();
  }
});

Deno.test("`new Pool()` throws what an option's getter threw, and starts no worker", () => {
  for (const option of ["workers", "initializer", "initArgs", "recorder", "permissions"]) {
    const thrown = new EvalError(`no ${option}`);
    const options = Object.defineProperty({}, option, {
      get() {
        throw thrown;
      },
    });
    // A worker or a timer left behind would fail this test's sanitizers.
    assert.throws(() => new Pool(options), (error) => error === thrown);
  }
});

Deno.test("`Pool.map()` fails a Proxy item with a TypeError naming its index", async () => {
  await using pool = new Pool({ workers: 1 });
  const trap = () => {
    throw new Error("trapped");
  };
  const proxy = new Proxy({}, { get: trap, ownKeys: trap, getPrototypeOf: trap });
  const error = await rejection(pool.map((x: unknown) => x, [1, proxy, 3]), "map");
  assert.ok(error instanceof TypeError, String(error));
  assert.equal(
    error.message,
    "Cannot send item 1 to a worker: trapped (items must be " +
      "structured-cloneable: no functions, symbols or objects with methods)",
  );
  const settled = await settles(pool.mapSettled((x: unknown) => x, [1, proxy, 3]), "mapSettled");
  assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "fulfilled"]);
});

Deno.test("`Pool.map()` runs a function whose own toString throws, by its real source", async () => {
  await using pool = new Pool({ workers: 1 });
  const double = (n: number) => n * 2;
  double.toString = () => {
    throw new Error("no source");
  };
  assert.deepEqual(await settles(pool.map(double, [1, 2]), "map"), [2, 4]);
});
