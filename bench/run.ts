/**
 * Side-by-side benchmarks: each comparison runs its contenders in turn,
 * alternating, for several rounds, and reports medians and ratios from the
 * same run. Figures are also written to bench/results/latest.json.
 *
 *     deno task bench [--rounds N]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Pool } from "../lib/mod.ts";
import { FloorPool } from "./floor_pool.ts";

interface Row {
  readonly comparison: string;
  readonly contender: string;
  readonly medianMs: number;
  readonly unit: string;
  readonly perUnit: number;
}

const { values } = parseArgs({ args: Deno.args, options: { rounds: { type: "string" } } });
const ROUNDS = Number(values.rounds ?? 5);

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs each contender once per round, in turn, and returns the median time of each. */
async function compare(
  contenders: Record<string, () => Promise<unknown>>,
): Promise<Map<string, number>> {
  const times = new Map<string, number[]>(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const started = performance.now();
      await run();
      times.get(name)?.push(performance.now() - started);
    }
  }
  return new Map([...times].map(([name, xs]) => [name, median(xs)]));
}

function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

const rows: Row[] = [];
function report(comparison: string, medians: Map<string, number>, unit: string, units: number) {
  for (const [contender, ms] of medians) {
    rows.push({ comparison, contender, medianMs: ms, unit, perUnit: (ms * 1000) / units });
  }
}

// 1. Per-task overhead: 100,000 tiny tasks queued at once, one apply each.
{
  const N = 100_000;
  const items = Array.from({ length: N }, (_, i) => i);
  const floor = new FloorPool(2);
  const pool = new Pool({ workers: 2, idleTimeout: Infinity });
  const square = (x: number) => x * x;
  await floor.square(1);
  await pool.apply(square, [1]);
  const medians = await compare({
    "hand-written floor pool": () => Promise.all(items.map((x) => floor.square(x))),
    "Pool.apply": () => Promise.all(items.map((x) => pool.apply(square, [x]))),
  });
  report("100,000 queued tiny tasks", medians, "µs/task", N);
  floor.close();
  await pool.terminate();
}

// 2. Tiny-item map: 1e6 squares with the default chunk size.
{
  const N = 1_000_000;
  const items = Array.from({ length: N }, (_, i) => i);
  const pool = new Pool({ workers: 2, idleTimeout: Infinity });
  const square = (x: number) => x * x;
  await pool.map(square, [1]);
  const medians = await compare({
    "sequential for loop": () => {
      const out = new Array(N);
      for (let i = 0; i < N; i++) out[i] = square(items[i]);
      return Promise.resolve(out);
    },
    "Pool.map (2 workers)": () => pool.map(square, items),
  });
  report("map(square, 1e6 numbers)", medians, "ns/item", N / 1000);
  await pool.terminate();
}

// 3. CPU-bound: 64 items of fib(27), 1 worker against 2, pool start-up included.
{
  const items = Array.from({ length: 64 }, () => 27);
  const medians = await compare({
    "sequential for loop": () => Promise.resolve(items.map(fib)),
    "Pool, 1 worker": async () => {
      await using pool = new Pool({ workers: 1 });
      await pool.map(fib, items);
    },
    "Pool, 2 workers": async () => {
      await using pool = new Pool({ workers: 2 });
      await pool.map(fib, items);
    },
  });
  report("64 x fib(27), start-up included", medians, "ms/job", 1000);
}

const byComparison = Map.groupBy(rows, (row) => row.comparison);
console.log(
  `Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores, ${ROUNDS} rounds, medians\n`,
);
for (const [comparison, group] of byComparison) {
  console.log(comparison);
  const base = group[0].medianMs;
  for (const row of group) {
    const ratio = base / row.medianMs;
    console.log(
      `  ${row.contender.padEnd(26)} ${row.perUnit.toFixed(2).padStart(10)} ${row.unit.padEnd(8)}` +
        `  ${ratio.toFixed(2)}x vs ${group[0].contender}`,
    );
  }
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
await Deno.writeTextFile(
  new URL("./results/latest.json", import.meta.url),
  JSON.stringify(
    { deno: Deno.version.deno, cores: navigator.hardwareConcurrency, rounds: ROUNDS, rows },
    null,
    2,
  ) + "\n",
);
