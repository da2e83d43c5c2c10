/**
 * A task that never returns: Deno cannot stop its thread, but nothing in the
 * pool waits on it. Run in a subprocess, which the stuck threads would
 * otherwise keep busy and alive.
 */
import assert from "node:assert/strict";
import { bounded } from "./_deadline.ts";
import { runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

Deno.test({
  ...needs(
    "a task that never returns times out promptly, and join() and terminate() still return",
    { name: "run" },
  ),
  fn: bounded(async () => {
    // runDeno kills the process at its deadline, so a hang fails here.
    const { code, stdout, stderr } = await runDeno(["run", "tests/fixtures/runaway.ts"], 20_000);
    assert.deepEqual(stdout.trim().split("\n"), [
      "timed out: TimeoutError",
      "next call: 42",
      "joined",
      "terminated",
      "stuck call: PoolClosedError",
    ], stderr);
    assert.equal(code, 0, stderr);
  }, 25_000),
});
