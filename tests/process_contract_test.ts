/**
 * The contract tests again, against worker processes: the same files, run
 * by `deno test` with `POOL_ISOLATION=process`, which `tests/_pool.ts`
 * reads. Tests whose tasks share memory with them are reported ignored there.
 */
import assert from "node:assert/strict";
import { RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

const CONTRACT = [
  "tests/pool_map_test.ts",
  "tests/pool_imap_test.ts",
  "tests/pool_apply_test.ts",
  "tests/pool_lifecycle_test.ts",
  "tests/python_pool_test.ts",
  "tests/bad_input_test.ts",
  "tests/fault_injection_test.ts",
];

Deno.test({
  ...needs("the contract tests pass against worker processes", RUN_DENO),
  fn: async () => {
    const { code, stdout, stderr } = await runDeno(
      ["test", "-P=test", ...CONTRACT],
      300_000,
      { env: { POOL_ISOLATION: "process" } },
    );
    const summary = stdout.trim().split("\n").at(-1) ?? "";
    assert.equal(code, 0, `${stdout.slice(-3000)}\n${stderr.slice(-3000)}`);
    const [, passed, ignored] = summary.match(/ok \| (\d+) passed.*\| 0 failed \| (\d+) ignored/) ??
      [];
    assert.ok(Number(passed) >= 40, summary);
    // Only those that share memory with their tasks, each saying so.
    const skipped = stdout.split("\n").filter((line) => line.endsWith("... ignored (0ms)"));
    assert.equal(skipped.length, Number(ignored), summary);
    for (const line of skipped) assert.match(line, /\(threads only: its tasks share memory/);
  },
});
