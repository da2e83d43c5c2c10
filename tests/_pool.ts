/**
 * Test helper: the `Pool` the contract tests use. With `POOL_ISOLATION=process`
 * in the environment it makes pools of worker processes, so the same tests
 * run against both kinds of worker (`process_contract_test.ts` runs them so).
 *
 * @module
 */

import { Pool as LibraryPool, type PoolOptions } from "../lib/mod.ts";

const isolation = Deno.permissions.querySync({ name: "env", variable: "POOL_ISOLATION" })
    .state === "granted"
  ? Deno.env.get("POOL_ISOLATION")
  : undefined;

/** `Pool`, of the kind of worker the environment names, unless a test names one. */
export class Pool extends LibraryPool {
  constructor(options: PoolOptions = {}) {
    super(
      isolation === "process" && options.isolation === undefined
        ? { ...options, isolation: "process" }
        : options,
    );
  }
}

/**
 * A test whose tasks share memory with it (a gate, a counter): it runs with
 * threads, and is reported ignored, saying why, when the contract tests run
 * against worker processes, which share no memory with their pool.
 */
export function threadsOnly(name: string): { readonly name: string; readonly ignore: boolean } {
  if (isolation !== "process") return { name, ignore: false };
  return { name: `${name} (threads only: its tasks share memory with the test)`, ignore: true };
}
