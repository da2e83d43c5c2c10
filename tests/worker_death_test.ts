/**
 * Every way a worker can die, or seem to, ends in a typed error within
 * bounded retries: in a task, between tasks, before its first task; and a
 * thrown value of any shape is a task's error, never its worker's death.
 */
import assert from "node:assert/strict";
import { Pool, TaskError } from "../lib/mod.ts";
import { rejection, within } from "./_deadline.ts";

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
        const [settled] = await within(pool.mapSettled(thrower, [0]), what);
        assert.ok(settled.status === "rejected" && settled.reason instanceof TaskError);
        assert.deepEqual(settled.reason.cause, cause);
      });
    }
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
    const settled = await within(
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
    const result = await within(
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
