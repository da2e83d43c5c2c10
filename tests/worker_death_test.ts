/**
 * Every way a worker can die, or seem to, ends in a typed error within
 * bounded retries: in a task, between tasks, before its first task; and a
 * thrown value of any shape is a task's error, never its worker's death.
 */
import assert from "node:assert/strict";
import { Pool, TaskError, TaskModule, WorkerCrashedError, WorkerInitError } from "../lib/mod.ts";
import { bounded, rejection, settles } from "./_deadline.ts";
import { needs } from "./_needs.ts";

/** Module tasks live here; their workers are granted read access to it. */
const fixtures = new URL("./fixtures/", import.meta.url);

function square(n: number): number {
  return n * n;
}

Deno.test("a thrown value of any shape fails its item with TaskError, never a crash", async (t) => {
  // One crash would fail the item with WorkerCrashedError at once.
  const pool = new Pool({ workers: 1, maxCrashes: 1 });
  const cases: [string, () => unknown, unknown, string][] = [
    [
      "an object with no prototype and a function",
      () => {
        const value = Object.create(null);
        value.run = () => 1;
        throw value;
      },
      "[object Object]",
      "[object Object]",
    ],
    [
      "an object whose toString throws",
      () => {
        throw {
          toString() {
            throw new Error("no text");
          },
        };
      },
      "[object Object]",
      "[object Object]",
    ],
    [
      "a Proxy that throws on every trap",
      () => {
        const trap = () => {
          throw new Error("trapped");
        };
        throw new Proxy({}, {
          get: trap,
          has: trap,
          ownKeys: trap,
          getPrototypeOf: trap,
          getOwnPropertyDescriptor: trap,
        });
      },
      "[object that cannot be read]",
      "[object that cannot be read]",
    ],
    [
      "a revoked Proxy",
      () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        throw proxy;
      },
      "[object that cannot be read]",
      "[object that cannot be read]",
    ],
    [
      "a plain object whose toString is not a function",
      () => {
        throw { toString: 1, valueOf: 2 };
      },
      { toString: 1, valueOf: 2 },
      "[object Object]",
    ],
    [
      "a symbol",
      () => {
        throw Symbol("odd");
      },
      "Symbol(odd)",
      "Symbol(odd)",
    ],
    [
      "undefined",
      () => {
        throw undefined;
      },
      undefined,
      "undefined",
    ],
    [
      "a function",
      () => {
        throw function helper() {};
      },
      "function helper() {}",
      "function helper() {}",
    ],
  ];
  try {
    for (const [what, thrower, cause, detail] of cases) {
      await t.step(what, async () => {
        const error = await rejection(pool.apply(thrower, []), what);
        assert.ok(error instanceof TaskError, String(error));
        assert.deepEqual(error.cause, cause);
        assert.equal(error.message, `Task 0 failed: ${detail}`);
        const [settled] = await settles(pool.mapSettled(thrower, [0]), what);
        assert.ok(settled.status === "rejected" && settled.reason instanceof TaskError);
        assert.deepEqual(settled.reason.cause, cause);
      });
    }
    await t.step("an AggregateError whose errors are a revoked Proxy", async () => {
      const error = await rejection(
        pool.apply(() => {
          const { proxy, revoke } = Proxy.revocable([], {});
          revoke();
          const error = new AggregateError([], "unreadable");
          error.errors = proxy;
          throw error;
        }, []),
        "the call",
      );
      assert.ok(error instanceof TaskError, String(error));
      assert.ok(error.cause instanceof AggregateError, String(error.cause));
      assert.equal(error.cause.message, "unreadable");
      assert.deepEqual(error.cause.errors, []);
    });
    await t.step("an Error whose every property throws when read", async () => {
      const error = await rejection(
        pool.apply(() => {
          const error = new RangeError("hidden");
          const trap = {
            get() {
              throw new Error("no");
            },
            enumerable: true,
          };
          Object.defineProperties(error, {
            name: trap,
            message: trap,
            stack: trap,
            cause: trap,
            extra: trap,
          });
          throw error;
        }, []),
        "the call",
      );
      assert.ok(error instanceof TaskError, String(error));
      assert.ok(error.cause instanceof RangeError);
      assert.equal(error.cause.name, "RangeError");
      assert.equal(error.cause.message, "");
      assert.equal(error.cause.stack, undefined);
      assert.ok(!("cause" in error.cause));
      assert.ok(!("extra" in error.cause));
    });
  } finally {
    await pool.terminate();
  }
});

Deno.test("a result whose then cannot be read fails its item with TaskError, as await would", async () => {
  const pool = new Pool({ workers: 1, maxCrashes: 1 });
  try {
    const getter = await rejection(
      pool.apply(() => ({
        get then() {
          throw new URIError("no then");
        },
      }), []),
      "the call",
    );
    assert.ok(getter instanceof TaskError, String(getter));
    assert.ok(getter.cause instanceof URIError);
    assert.equal(getter.cause.message, "no then");
    const revoked = await rejection(
      pool.apply(() => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy;
      }, []),
      "the call",
    );
    assert.ok(revoked instanceof TaskError, String(revoked));
    assert.ok(revoked.cause instanceof TypeError);
    assert.match(revoked.cause.message, /revoked/);
    // The items around it are unharmed.
    const settled = await settles(
      pool.mapSettled((n: number) =>
        n === 1
          ? {
            get then() {
              throw new Error("no then");
            },
          }
          : n, [0, 1, 2]),
      "mapSettled",
    );
    assert.deepEqual(settled.map((s) => s.status), ["fulfilled", "rejected", "fulfilled"]);
  } finally {
    await pool.terminate();
  }
});

Deno.test("a result whose getter answers differently on each read comes back, not retried forever", async () => {
  const pool = new Pool({ workers: 1 });
  try {
    // Reads 1, 3, 5... throw. The first send fails; what is sent next is a clone.
    const result = await settles(
      pool.apply(() => {
        let reads = 0;
        return {
          get value() {
            if (++reads % 2 === 1) throw new Error(`read ${reads}`);
            return reads;
          },
        };
      }, []),
      "the call",
    );
    assert.deepEqual(result, { value: 2 });
  } finally {
    await pool.terminate();
  }
});

/** Resolves once the pool has shut itself down (it broke), within the deadline. */
async function shutsDown(pool: Pool): Promise<void> {
  await settles(
    (async () => {
      while (true) {
        try {
          return await pool.join();
        } catch {
          // Still open: join() refuses until the pool closes.
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }
    })(),
    "the pool's shutdown",
  );
}

Deno.test("an initializer that kills its worker fails calls with WorkerInitError, not an endless respawn", async (t) => {
  const deaths: [string, () => unknown, string, (cause: unknown) => void][] = [
    [
      "self.close()",
      () => self.close(),
      "the initializer called self.close()",
      (cause) => assert.equal(cause, undefined),
    ],
    [
      "Deno.exit()",
      () => Deno.exit(3),
      "the initializer called Deno.exit()",
      (cause) => {
        assert.ok(cause instanceof Error);
        assert.equal(cause.message, "Deno.exit(3) was called inside the worker");
      },
    ],
    [
      "an error thrown in a timer while it waits",
      () => {
        setTimeout(() => {
          throw new RangeError("timer in the initializer");
        });
        return new Promise((resolve) => setTimeout(resolve, 60_000));
      },
      "an uncaught error: timer in the initializer",
      (cause) => {
        assert.ok(cause instanceof RangeError);
        assert.equal(cause.message, "timer in the initializer");
      },
    ],
    [
      "an unhandled rejection while it waits",
      () => {
        Promise.reject(new URIError("nobody listened"));
        return new Promise((resolve) => setTimeout(resolve, 60_000));
      },
      "an uncaught error: nobody listened",
      (cause) => {
        assert.ok(cause instanceof URIError);
        assert.equal(cause.message, "nobody listened");
      },
    ],
  ];
  for (const [how, initializer, note, checkCause] of deaths) {
    await t.step(how, async () => {
      const pool = new Pool({ workers: 1, initializer });
      try {
        const error = await rejection(pool.apply(() => 1, []), "the call");
        assert.ok(error instanceof WorkerInitError, String(error));
        assert.equal(
          error.message,
          `The pool's initializer failed in worker 1: the worker died while it ran (${note})`,
        );
        checkCause(error.cause);
        assert.equal(await rejection(pool.map((n: number) => n, [1, 2]), "a later call"), error);
        await shutsDown(pool);
        assert.equal(pool.liveWorkers, 0);
      } finally {
        await pool.terminate();
      }
    });
  }
});

Deno.test("an initializer whose timer kills its worker before the first task fails calls with WorkerInitError", async () => {
  const pool = new Pool({
    workers: 1,
    initializer: () => {
      setTimeout(() => {
        throw new EvalError("late");
      });
    },
  });
  try {
    // No call yet: the worker the pool starts on its own sits idle until the timer fires.
    await shutsDown(pool);
    const error = await rejection(pool.apply(() => 1, []), "the call");
    assert.ok(error instanceof WorkerInitError, String(error));
    assert.equal(
      error.message,
      "The pool's initializer failed in worker 1: the worker died before its first task " +
        "(an uncaught error: late)",
    );
    assert.ok(error.cause instanceof EvalError);
  } finally {
    await pool.terminate();
  }
});

Deno.test({
  ...needs(
    "a task module that kills its worker on import fails its items with WorkerCrashedError after maxCrashes workers",
    { name: "read", path: fixtures },
  ),
  fn: async (t) => {
    for (const [how, note] of [["close", "self.close()"], ["exit", "Deno.exit()"]]) {
      await t.step(how, async () => {
        const tasks = new TaskModule<typeof import("./fixtures/dies_on_import.ts")>(
          new URL(`dies_on_import.ts?${how}`, fixtures),
        );
        const pool = new Pool({ workers: 1, maxCrashes: 2, permissions: { read: [fixtures] } });
        try {
          const settled = await settles(
            pool.mapSettled(tasks.task("double"), [1, 2, 3], { chunkSize: 3 }),
            "mapSettled",
          );
          assert.equal(settled.length, 3);
          settled.forEach((outcome, index) => {
            assert.ok(outcome.status === "rejected", `item ${index} ${outcome.status}`);
            assert.ok(outcome.reason instanceof WorkerCrashedError, String(outcome.reason));
            assert.equal(outcome.reason.index, index);
            assert.equal(outcome.reason.workerId, 2);
            assert.equal(
              outcome.reason.message,
              `Worker 2 died while importing the module of task ${index} ` +
                `(the module called ${note}); it was tried on 2 workers`,
            );
          });
          const error = await rejection(pool.apply(tasks.task("double"), [1]), "apply");
          assert.ok(error instanceof WorkerCrashedError, String(error));
          assert.match(error.message, /it was tried on 2 workers$/);
          // The pool goes on with other work.
          assert.equal(await settles(pool.apply((n: number) => n + 1, [1]), "apply"), 2);
        } finally {
          await pool.terminate();
        }
      });
    }
  },
});

Deno.test(
  "a worker that dies mid-task fails that task with WorkerCrashedError; the rest finish",
  bounded(async (t) => {
    const deaths = {
      "self.close()": () => self.close(),
      "Deno.exit()": () => Deno.exit(3),
      "an error thrown in a timer": () => {
        setTimeout(() => {
          throw new Error("timer blew up");
        }, 0);
        return new Promise(() => {});
      },
      "an unhandled rejection": () => {
        Promise.reject(new Error("nobody caught me"));
        return new Promise(() => {});
      },
    };
    // Chunks of 2 travel as arrays; a chunk of 10 travels packed, and the
    // results before the death come back from the packed copy.
    const items = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    for (const [how, die] of Object.entries(deaths)) {
      await t.step(how, async () => {
        await using pool = new Pool({ workers: 2, maxCrashes: 2 });
        const source = `(n) => { if (n === 3) return (${die.toString()})(); return n * 2; }`;
        const task = new Function(`return ${source}`)() as (n: number) => number;
        for (const chunkSize of [2, 10]) {
          const outcomes = await pool.mapSettled(task, items, { chunkSize });
          assert.deepEqual(
            outcomes.map((o) => o.status),
            items.map((n) => n === 3 ? "rejected" : "fulfilled"),
          );
          const failed = outcomes[2];
          assert.ok(failed.status === "rejected" && failed.reason instanceof WorkerCrashedError);
          assert.equal(failed.reason.index, 2);
          assert.match(failed.reason.message, /tried on 2 workers/);
          assert.deepEqual(
            outcomes.filter((o) => o.status === "fulfilled").map((o) => o.value),
            items.filter((n) => n !== 3).map((n) => n * 2),
          );
        }
        assert.deepEqual(await pool.map(square, [1, 2]), [1, 4]);
      });
    }
  }),
);

Deno.test(
  "a task that kills every worker it runs on is tried on `maxCrashes` workers, then fails for good",
  bounded(async () => {
    await using pool = new Pool({ workers: 1, maxCrashes: 3 });
    const error = await pool.apply(() => self.close(), []).catch((e) => e);
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /tried on 3 workers/);
    assert.equal(await pool.apply(() => "alive", []), "alive");
  }),
);

Deno.test(
  "`maxCrashes` counts the crashes of each item, not of each chunk",
  bounded(async () => {
    // Items 1 and 3 each kill their worker the first time they run, and share a
    // chunk. With maxCrashes 2 each may crash once: both must succeed on retry.
    const starts = new Int32Array(new SharedArrayBuffer(16));
    await using pool = new Pool({ workers: 1, maxCrashes: 2 });
    const results = await pool.map(
      ([i, starts]: [number, Int32Array]) => {
        if ((i === 1 || i === 3) && Atomics.add(starts, i, 1) === 0) self.close();
        return i * 10;
      },
      [0, 1, 2, 3].map((i) => [i, starts] as [number, Int32Array]),
      { chunkSize: 4 },
    );
    assert.deepEqual(results, [0, 10, 20, 30]);
    assert.deepEqual([...starts], [0, 2, 0, 2]);
  }),
);

Deno.test("a worker that dies between tasks, from what a task left behind, costs no item its result", async (t) => {
  const leftovers: [string, (n: number) => number][] = [
    [
      "a timer that throws",
      (n: number) => {
        setTimeout(() => {
          throw new Error(`left behind by ${n}`);
        });
        return n * 2;
      },
    ],
    [
      "a rejection nobody handles",
      (n: number) => {
        Promise.reject(new Error(`left behind by ${n}`));
        return n * 2;
      },
    ],
  ];
  for (const [what, task] of leftovers) {
    await t.step(what, async () => {
      // maxCrashes 1: a single crash blamed on a task would fail it.
      const pool = new Pool({ workers: 2, maxCrashes: 1 });
      try {
        const items = Array.from({ length: 24 }, (_, i) => i);
        assert.deepEqual(
          await settles(pool.map(task, items, { chunkSize: 1 }), "map"),
          items.map((n) => n * 2),
        );
        assert.equal(await settles(pool.apply(task, [21]), "apply"), 42);
      } finally {
        await pool.terminate();
      }
    });
  }
});

Deno.test("a task that kills its worker fails with WorkerCrashedError from every method", async () => {
  const pool = new Pool({ workers: 1, maxCrashes: 2 });
  const kill = (_n: number) => self.close();
  const check = (error: unknown) => {
    assert.ok(error instanceof WorkerCrashedError, String(error));
    assert.equal(error.index, 0);
    assert.match(error.message, /\(the task called self\.close\(\)\); it was tried on 2 workers$/);
    return true;
  };
  try {
    check(await rejection(pool.map(kill, [1]), "map"));
    check(await rejection(pool.starmap(kill, [[1]]), "starmap"));
    check(await rejection(pool.apply(kill, [1]), "apply"));
    check(await rejection(pool.imap(kill, [1]).next(), "imap"));
    check(await rejection(pool.imapUnordered(kill, [1]).next(), "imapUnordered"));
    const [settled] = await settles(pool.mapSettled(kill, [1]), "mapSettled");
    assert.ok(settled.status === "rejected" && check(settled.reason));
  } finally {
    await pool.terminate();
  }
});

Deno.test("a task that clears self.onmessage or replaces self.postMessage leaves its worker answering", async () => {
  const pool = new Pool({ workers: 1 });
  try {
    assert.equal(
      await settles(
        pool.apply(() => {
          (self as unknown as { onmessage: null }).onmessage = null;
          return 1;
        }, []),
        "the call that cleared onmessage",
      ),
      1,
    );
    assert.equal(
      await settles(
        pool.apply(() => {
          (self as unknown as { postMessage: () => void }).postMessage = () => {};
          return 2;
        }, []),
        "the call that replaced postMessage",
      ),
      2,
    );
    assert.equal(await settles(pool.apply(() => 3, []), "a later call on the same worker"), 3);
  } finally {
    await pool.terminate();
  }
});

Deno.test("a task that kills its worker as it is compiled fails with WorkerCrashedError after maxCrashes workers", async () => {
  const pool = new Pool({ workers: 1, maxCrashes: 2 });
  // A class's static block runs when its source is compiled: here, in a worker only.
  const task = class {
    static {
      if ("WorkerGlobalScope" in globalThis) self.close();
    }
  } as unknown as (n: number) => number;
  try {
    const settled = await settles(pool.mapSettled(task, [1, 2], { chunkSize: 2 }), "mapSettled");
    settled.forEach((outcome, index) => {
      assert.ok(outcome.status === "rejected", `item ${index} ${outcome.status}`);
      assert.ok(outcome.reason instanceof WorkerCrashedError, String(outcome.reason));
      assert.equal(
        outcome.reason.message,
        `Worker 2 died while loading the function of task ${index} ` +
          "(the function called self.close()); it was tried on 2 workers",
      );
    });
    assert.equal(await settles(pool.apply(() => "alive", []), "apply"), "alive");
  } finally {
    await pool.terminate();
  }
});

Deno.test("an initializer that throws what can be neither cloned nor read fails calls with WorkerInitError", async () => {
  const pool = new Pool({
    workers: 1,
    initializer: () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      throw proxy;
    },
  });
  try {
    const error = await rejection(pool.apply(() => 1, []), "the call");
    assert.ok(error instanceof WorkerInitError, String(error));
    assert.equal(
      error.message,
      "The pool's initializer failed in worker 1: [object that cannot be read]",
    );
    assert.equal(error.cause, "[object that cannot be read]");
  } finally {
    await pool.terminate();
  }
});

Deno.test({
  ...needs(
    "a task module that throws on import fails its items with TaskError, and kills no worker",
    { name: "read", path: fixtures },
  ),
  fn: async () => {
    const tasks = new TaskModule<typeof import("./fixtures/dies_on_import.ts")>(
      new URL("dies_on_import.ts?throw", fixtures),
    );
    // One crash would fail an item with WorkerCrashedError.
    const pool = new Pool({ workers: 1, maxCrashes: 1, permissions: { read: [fixtures] } });
    try {
      const settled = await settles(pool.mapSettled(tasks.task("double"), [1, 2]), "mapSettled");
      settled.forEach((outcome, index) => {
        assert.ok(outcome.status === "rejected", `item ${index} ${outcome.status}`);
        assert.ok(outcome.reason instanceof TaskError, String(outcome.reason));
        assert.equal(outcome.reason.index, index);
        assert.ok(outcome.reason.cause instanceof URIError);
        assert.equal(outcome.reason.cause.message, "the module failed to load");
      });
    } finally {
      await pool.terminate();
    }
  },
});
