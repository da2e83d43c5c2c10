/**
 * Inputs as the README promises them: an array, a string, any iterable or
 * async iterable, on every method, with the same results for every shape and
 * chunk size.
 */
import assert from "node:assert/strict";
import { Pool } from "../lib/mod.ts";
import { bounded } from "./_deadline.ts";

const same = (x: unknown) => x;

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** Every way the results of `pool` over `items()` can be read, each as a list in input order. */
function everyMethod(pool: Pool, items: () => Iterable<unknown> | AsyncIterable<unknown>) {
  const byValue = (a: unknown, b: unknown) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1;
  return {
    map: () => pool.map(same, items()),
    "map in chunks of 2": () => pool.map(same, items(), { chunkSize: 2 }),
    mapSettled: async () =>
      (await pool.mapSettled(same, items())).map((s) => s.status === "fulfilled" && s.value),
    imap: () => collect(pool.imap(same, items())),
    "imap in chunks of 2": () => collect(pool.imap(same, items(), { chunkSize: 2 })),
    imapUnordered: async () => (await collect(pool.imapUnordered(same, items()))).sort(byValue),
  };
}

Deno.test(
  "`Pool.map()` over a string maps each character, as over an array of them",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 2 });
    const cases: [string, string[]][] = [
      ["abc", ["a", "b", "c"]],
      // By code point, as Array.from reads a string.
      ["a😀b", ["a", "😀", "b"]],
      ["", []],
    ];
    for (const [text, characters] of cases) {
      for (const [method, run] of Object.entries(everyMethod(pool, () => text))) {
        await t.step(`${method} over ${JSON.stringify(text)}`, async () => {
          const expected = method === "imapUnordered" ? [...characters].sort() : characters;
          assert.deepEqual(await run(), expected);
        });
      }
    }
  }),
);

Deno.test(
  "every input shape gives the same results, on every method and chunk size",
  bounded(async (t) => {
    await using pool = new Pool({ workers: 2 });
    const values = [1, 2, 3, 4, 5];
    function* generator() {
      yield* values;
    }
    async function* asyncGenerator() {
      for (const value of values) {
        await Promise.resolve();
        yield value;
      }
    }
    const shapes: [string, () => Iterable<unknown> | AsyncIterable<unknown>, unknown[]][] = [
      ["an array", () => values, values],
      ["a Set", () => new Set(values), values],
      ["a Map, as its entries", () => new Map([["a", 1], ["b", 2]]), [["a", 1], ["b", 2]]],
      ["a generator", generator, values],
      ["an array iterator", () => values.values(), values],
      ["a typed array", () => Float64Array.from(values), values],
      ["a String object", () => new String("ab"), ["a", "b"]],
      ["a hand-written iterable", () => ({ [Symbol.iterator]: () => values.values() }), values],
      ["an async generator", asyncGenerator, values],
      [
        "a hand-written async iterable",
        () => ({ [Symbol.asyncIterator]: asyncGenerator }),
        values,
      ],
      ["a ReadableStream", () => ReadableStream.from(values), values],
      ["an empty Set", () => new Set(), []],
      ["an empty async generator", async function* () {}, []],
    ];
    for (const [shape, items, expected] of shapes) {
      await t.step(shape, async () => {
        for (const [method, run] of Object.entries(everyMethod(pool, items))) {
          assert.deepEqual(await run(), expected, method);
        }
      });
    }
    assert.deepEqual(
      await pool.starmap((a: number, b: number) => a + b, new Set([[1, 2], [3, 4]])),
      [3, 7],
    );
  }),
);

Deno.test(
  "an input with an async iterator is read through it, as `for await` reads it",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const both = {
      *[Symbol.iterator]() {
        yield "sync";
      },
      async *[Symbol.asyncIterator]() {
        yield "async";
      },
    };
    assert.deepEqual(await pool.map(same, both), ["async"]);
    assert.deepEqual(await collect(pool.imap(same, both)), ["async"]);
  }),
);

Deno.test(
  "an input whose iterator cannot be made fails the call with that error",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const error = new Error("no iterator today");
    const broken = {
      [Symbol.iterator](): Iterator<number> {
        throw error;
      },
    };
    const isError = (e: unknown) => e === error;
    await assert.rejects(pool.map(same, broken), isError);
    await assert.rejects(pool.mapSettled(same, broken), isError);
    await assert.rejects(pool.imap(same, broken).next(), isError);
    await assert.rejects(pool.imapUnordered(same, broken).next(), isError);
  }),
);

Deno.test(
  "an input that is not iterable is a TypeError naming the method",
  bounded(async () => {
    await using pool = new Pool({ workers: 1 });
    const notIterable: unknown[] = [42, null, undefined, {}, { [Symbol.iterator]: 1 }, true];
    for (const value of notIterable) {
      const items = value as Iterable<unknown>;
      const message = (method: string) =>
        new RegExp(`^TypeError: Cannot ${method} as the input must be iterable: current value is `);
      await assert.rejects(pool.map(same, items), message("map"));
      await assert.rejects(pool.starmap(same, items as never), message("starmap"));
      await assert.rejects(pool.mapSettled(same, items), message("mapSettled"));
      await assert.rejects(pool.imap(same, items).next(), message("imap"));
      await assert.rejects(pool.imapUnordered(same, items).next(), message("imapUnordered"));
    }
  }),
);
