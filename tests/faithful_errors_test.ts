/**
 * Errors come back as they were thrown: an error thrown in a worker keeps its
 * built-in class and the fields that class carries, through `TaskError`,
 * `WorkerInitError` and `WorkerCrashedError` alike.
 */
import assert from "node:assert/strict";
import { Pool, TaskError, WorkerCrashedError, WorkerInitError } from "../lib/mod.ts";
import { bounded, rejection } from "./_deadline.ts";

/** The cause of the `TaskError` that `fn` fails with on the pool. */
async function causeOf(pool: Pool, fn: () => unknown): Promise<unknown> {
  const error = await rejection(pool.apply(fn, []), "the call");
  assert.ok(error instanceof TaskError, String(error));
  return error.cause;
}

/** Asserts an error's class, name and message, and that its stack is the worker's. */
function assertError<C extends abstract new (...args: never[]) => Error>(
  value: unknown,
  Class: C,
  name: string,
  message: string,
): asserts value is InstanceType<C> {
  assert.ok(value instanceof Class, `expected a ${Class.name}, got ${Deno.inspect(value)}`);
  assert.equal(value.name, name);
  assert.equal(value.message, message);
  assert.match(value.stack ?? "", /task:/, "the stack is the one from the worker");
}

Deno.test(
  "`TaskError.cause` keeps the class of every built-in error",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    const classes: [string, new (message: string) => Error][] = [
      ["Error", Error],
      ["EvalError", EvalError],
      ["RangeError", RangeError],
      ["ReferenceError", ReferenceError],
      ["SyntaxError", SyntaxError],
      ["TypeError", TypeError],
      ["URIError", URIError],
      ["CompileError", WebAssembly.CompileError],
      ["LinkError", WebAssembly.LinkError],
      ["RuntimeError", WebAssembly.RuntimeError],
      ...Object.entries(Deno.errors),
    ];
    for (const [name, Class] of classes) {
      await t.step(name, async () => {
        const path = Class.name in Deno.errors
          ? `Deno.errors.${name}`
          : name in WebAssembly
          ? `WebAssembly.${name}`
          : name;
        const fn = new Function(
          `return function thrower() { throw new ${path}("from the worker"); }`,
        )();
        const cause = await causeOf(pool, fn);
        assertError(cause, Class, name, "from the worker");
        assert.equal(Object.getPrototypeOf(cause), Class.prototype);
      });
    }
  }),
);

Deno.test(
  "`TaskError.cause` keeps an AggregateError's errors, each revived in turn",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const cause = await causeOf(pool, () => {
      const inner = new AggregateError([new URIError("deep")], "inner");
      throw new AggregateError(
        [
          new TypeError("first"),
          new DOMException("second", "AbortError"),
          42,
          { plain: true },
          inner,
        ],
        "all failed",
      );
    });
    assertError(cause, AggregateError, "AggregateError", "all failed");
    const errors = (cause as AggregateError).errors;
    assert.equal(errors.length, 5);
    assertError(errors[0], TypeError, "TypeError", "first");
    assertError(errors[1], DOMException, "AbortError", "second");
    assert.equal((errors[1] as DOMException).code, DOMException.ABORT_ERR);
    assert.equal(errors[2], 42);
    assert.deepEqual(errors[3], { plain: true });
    assertError(errors[4], AggregateError, "AggregateError", "inner");
    assertError((errors[4] as AggregateError).errors[0], URIError, "URIError", "deep");
    // As the constructor makes it: own, not enumerable.
    assert.deepEqual(
      Object.getOwnPropertyDescriptor(cause, "errors"),
      { value: errors, writable: true, enumerable: false, configurable: true },
    );
  }),
);

Deno.test(
  "`TaskError.cause` keeps a DOMException's name and code",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const cases: [string, number][] = [
      ["AbortError", 20],
      ["DataCloneError", 25],
      ["NotFoundError", 8],
      ["SomethingElse", 0],
    ];
    for (const [name, code] of cases) {
      const fn = new Function(`return () => { throw new DOMException("it broke", "${name}"); }`)();
      const cause = await causeOf(pool, fn);
      assertError(cause, DOMException, name, "it broke");
      assert.equal((cause as DOMException).code, code);
    }
    // One thrown by the platform, not by the task's own code.
    const cloneError = await causeOf(pool, () => structuredClone(() => 1));
    assert.ok(cloneError instanceof DOMException);
    assert.equal(cloneError.name, "DataCloneError");
    assert.equal(cloneError.code, DOMException.DATA_CLONE_ERR);
  }),
);

Deno.test(
  "`TaskError.cause` keeps a QuotaExceededError's quota and requested",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const cause = await causeOf(pool, () => {
      throw new QuotaExceededError("too much", { quota: 10, requested: 12 });
    });
    assertError(cause, QuotaExceededError, "QuotaExceededError", "too much");
    assert.ok(cause instanceof DOMException);
    assert.equal(cause.code, DOMException.QUOTA_EXCEEDED_ERR);
    assert.equal(cause.quota, 10);
    assert.equal(cause.requested, 12);
    // One thrown by the platform: more bytes than getRandomValues hands out.
    const platform = await causeOf(pool, () => crypto.getRandomValues(new Uint8Array(65_537)));
    assert.ok(platform instanceof QuotaExceededError, String(platform));
    assert.equal(platform.quota, null);
    assert.equal(platform.requested, null);
  }),
);

Deno.test(
  "`TaskError.cause` keeps a SuppressedError's error and suppressed",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const made = await causeOf(pool, () => {
      throw new SuppressedError(new RangeError("while closing"), new TypeError("first"), "both");
    });
    assertError(made, SuppressedError, "SuppressedError", "both");
    assertError(made.error, RangeError, "RangeError", "while closing");
    assertError(made.suppressed, TypeError, "TypeError", "first");
    // One made by `using`, when disposing throws after the body threw.
    const disposed = await causeOf(pool, () => {
      using _resource = {
        [Symbol.dispose]() {
          throw new URIError("dispose failed");
        },
      };
      throw new EvalError("body failed");
    });
    assert.ok(disposed instanceof SuppressedError, String(disposed));
    assertError(disposed.error, URIError, "URIError", "dispose failed");
    assertError(disposed.suppressed, EvalError, "EvalError", "body failed");
  }),
);

Deno.test(
  "`TaskError.cause` keeps a cause chain of mixed classes and values",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const cause = await causeOf(pool, () => {
      const root = new DOMException("timed out", "TimeoutError");
      const middle = new AggregateError([root], "retries failed", { cause: root });
      throw new RangeError("gave up", { cause: new TypeError("bad reply", { cause: middle }) });
    });
    assertError(cause, RangeError, "RangeError", "gave up");
    const second = cause.cause;
    assertError(second, TypeError, "TypeError", "bad reply");
    const third = second.cause;
    assertError(third, AggregateError, "AggregateError", "retries failed");
    assertError(third.cause, DOMException, "TimeoutError", "timed out");
    assert.equal((third.cause as DOMException).code, DOMException.TIMEOUT_ERR);
    assertError(third.errors[0], DOMException, "TimeoutError", "timed out");
    // Non-error causes: a clone where one can be made, else its text.
    const plain = await causeOf(pool, () => {
      throw new Error("with data", { cause: { attempt: 3 } });
    });
    assert.deepEqual((plain as Error).cause, { attempt: 3 });
    const fnCause = await causeOf(pool, () => {
      throw new Error("with a function", { cause: function retry() {} });
    });
    assert.equal((fnCause as Error).cause, "function retry() {}");
  }),
);

Deno.test(
  "`TaskError.cause` keeps the cause chain and the error's own properties",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const error = await pool.apply(() => {
      const root = new Error("disk full");
      const wrapped = new Error("save failed", { cause: root });
      Object.assign(wrapped, { code: "E_SAVE", details: { path: "/tmp/x" } });
      throw wrapped;
    }, []).catch((e) => e);
    assert.ok(error instanceof TaskError);
    const cause = error.cause as Error & { code: string; details: unknown };
    assert.equal(cause.message, "save failed");
    assert.equal(cause.code, "E_SAVE");
    assert.deepEqual(cause.details, { path: "/tmp/x" });
    assert.ok(cause.cause instanceof Error);
    assert.equal((cause.cause as Error).message, "disk full");
    assert.match(cause.stack ?? "", /save failed/);
  }),
);

Deno.test(
  "`TaskError.cause` is the thrown value itself when that is not an Error",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const error = await pool.apply(() => {
      throw { reason: "plain object" };
    }, []).catch((e) => e);
    assert.ok(error instanceof TaskError);
    assert.deepEqual(error.cause, { reason: "plain object" });
  }),
);

Deno.test(
  "`TaskError.cause` keeps the nearest built-in class of a subclass, its name and fields",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const cause = await causeOf(pool, () => {
      class ValidationError extends TypeError {
        override name = "ValidationError";
        field = "email";
      }
      throw new ValidationError("not an address");
    });
    assertError(cause, TypeError, "ValidationError", "not an address");
    assert.equal((cause as TypeError & { field: string }).field, "email");
  }),
);

Deno.test(
  "`TaskError.cause` keeps the class of an error renamed after it was made",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const renamed = await causeOf(pool, () => {
      const error = new TypeError("renamed");
      error.name = "Custom";
      throw error;
    });
    assertError(renamed, TypeError, "Custom", "renamed");
    // Named like a built-in class, but not one: it stays an Error.
    const impostor = await causeOf(pool, () => {
      const error = new Error("impostor");
      error.name = "TypeError";
      throw error;
    });
    assertError(impostor, Error, "TypeError", "impostor");
    assert.ok(!(impostor instanceof TypeError));
    assert.equal(Object.getPrototypeOf(impostor), Error.prototype);
  }),
);

Deno.test(
  "`TaskError.cause` of an error with an odd name or message keeps what can be kept",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 1 });
    await t.step("a name that is not a string", async () => {
      const cause = await causeOf(pool, () => {
        const error = new RangeError("numbered");
        (error as unknown as { name: number }).name = 42;
        throw error;
      });
      assert.ok(cause instanceof RangeError);
      assert.equal(cause.name as unknown, 42);
      assert.equal(cause.message, "numbered");
    });
    await t.step("a name whose getter throws", async () => {
      const cause = await causeOf(pool, () => {
        const error = new SyntaxError("no name");
        Object.defineProperty(error, "name", {
          get() {
            throw new Error("no");
          },
        });
        throw error;
      });
      assertError(cause, SyntaxError, "SyntaxError", "no name");
    });
    await t.step("a message that is a symbol", async () => {
      const cause = await causeOf(pool, () => {
        const error = new EvalError("x");
        (error as unknown as { message: symbol }).message = Symbol("why");
        throw error;
      });
      assertError(cause, EvalError, "EvalError", "Symbol(why)");
    });
    await t.step("an empty message and a multi-line one", async () => {
      assertError(
        await causeOf(pool, () => {
          throw new TypeError();
        }),
        TypeError,
        "TypeError",
        "",
      );
      assertError(
        await causeOf(pool, () => {
          throw new TypeError("line one\nline two");
        }),
        TypeError,
        "TypeError",
        "line one\nline two",
      );
    });
  }),
);

Deno.test(
  "every method gives the same faithful cause",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const thrower = (n: number) => {
      throw new AggregateError([new RangeError(`item ${n}`)], "failed");
    };
    const check = (error: unknown) => {
      assert.ok(error instanceof TaskError, String(error));
      assert.ok(error.cause instanceof AggregateError);
      assert.ok(error.cause.errors[0] instanceof RangeError);
      assert.equal(error.cause.errors[0].message, "item 1");
      return true;
    };
    check(await rejection(pool.map(thrower, [1]), "map"));
    check(await rejection(pool.starmap(thrower, [[1]]), "starmap"));
    check(await rejection(pool.apply(thrower, [1]), "apply"));
    check(await rejection(pool.imap(thrower, [1]).next(), "imap"));
    check(await rejection(pool.imapUnordered(thrower, [1]).next(), "imapUnordered"));
    const [settled] = await pool.mapSettled(thrower, [1]);
    assert.ok(settled.status === "rejected" && check(settled.reason));
  }),
);

Deno.test(
  "`WorkerInitError.cause` keeps the initializer's error class and fields",
  bounded(async () => {
    const pool = new Pool({
      workers: 1,
      initializer: () => {
        const error = new AggregateError([new Deno.errors.NotFound("config.json")], "no config");
        Object.assign(error, { code: "E_CONFIG" });
        throw error;
      },
    });
    try {
      const error = await rejection(pool.apply(() => 1, []), "the call");
      assert.ok(error instanceof WorkerInitError, String(error));
      const cause = error.cause;
      assert.ok(cause instanceof AggregateError);
      assert.equal(cause.message, "no config");
      assert.equal((cause as AggregateError & { code: string }).code, "E_CONFIG");
      assert.ok(cause.errors[0] instanceof Deno.errors.NotFound);
      assert.equal(cause.errors[0].message, "config.json");
    } finally {
      await pool.terminate();
    }
  }),
);

Deno.test(
  "`WorkerCrashedError.cause` keeps the class and fields of the error that escaped",
  bounded(async () => {
    await using pool = new Pool({ workers: 1, maxCrashes: 1 });
    const error = await rejection(
      pool.apply(() => {
        setTimeout(() => {
          throw Object.assign(new DOMException("lost the lock", "InvalidStateError"), {
            lock: "db",
          });
        });
        return new Promise(() => {});
      }, []),
      "the call",
    );
    assert.ok(error instanceof WorkerCrashedError, String(error));
    const cause = error.cause;
    assert.ok(cause instanceof DOMException, String(cause));
    assert.equal(cause.name, "InvalidStateError");
    assert.equal(cause.code, DOMException.INVALID_STATE_ERR);
    assert.equal(cause.message, "lost the lock");
    assert.equal((cause as DOMException & { lock: string }).lock, "db");
  }),
);

Deno.test(
  "a result that cannot be sent back fails with the DataCloneError as it was thrown",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const error = await rejection(pool.apply(() => ({ run() {} }), []), "the call");
    assert.ok(error instanceof TaskError);
    assert.ok(error.cause instanceof DOMException, String(error.cause));
    assert.equal(error.cause.name, "DataCloneError");
    assert.equal(error.cause.code, DOMException.DATA_CLONE_ERR);
  }),
);
