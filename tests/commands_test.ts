/**
 * The commands the README gives work as typed. `deno task test` is this run
 * itself; this file checks the other one: a bare `deno test`, with no flag,
 * starts, passes, and reports each test it cannot grant a permission as
 * ignored, naming what that test needs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { fileURLToPath, pathToFileURL } from "node:url";
import { RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";

const root = new URL("../", import.meta.url);
/**
 * Scratch copies of the project go here. It is inside the project so that
 * `deno task test` can grant writing to this folder alone; `.gitignore` and
 * the `exclude` of `deno.json` leave it out of git and of Deno's file lists.
 */
const scratchRoot = new URL(".scratch/", root);

/**
 * What a scratch copy holds: the real config and everything the test files
 * import, with every test file, so that a test that fails without a
 * permission, instead of saying what it needs, fails this one. The copy of
 * this file is ignored there (a bare run cannot write), so it does not start
 * itself again.
 */
const COPIED = ["deno.json", "lib/", "demo/", "bench/", "tests/", "pool.ts", "threads.ts"];

/** The flags named by the copied tests that need one. */
const NEEDED = ["--allow-env", "--allow-net", "--allow-read", "--allow-run", "--allow-write"];

/** Copies a file, or a folder (a URL ending in `/`) with everything in it. */
async function copy(from: URL, to: URL): Promise<void> {
  if (!from.pathname.endsWith("/")) {
    await Deno.mkdir(new URL("./", to), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const name = entry.isDirectory ? `${entry.name}/` : entry.name;
    await copy(new URL(name, from), new URL(name, to));
  }
}

Deno.test(
  needs(
    "a bare deno test passes and names what each test it ignores needs",
    RUN_DENO,
    { name: "read", path: root },
    { name: "write", path: scratchRoot },
  ),
  async () => {
    await Deno.mkdir(scratchRoot, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: fileURLToPath(scratchRoot), prefix: "bare-" });
    try {
      const scratch = pathToFileURL(`${dir}/`);
      for (const path of COPIED) await copy(new URL(path, root), new URL(path, scratch));

      // As typed: no flag, no file named.
      const result = await runDeno(["test"], 180_000, { cwd: scratch });
      const output = `${result.stdout}\n${result.stderr}`;
      assert.equal(result.code, 0, output);

      const summary = result.stdout.match(
        /^ok \| (\d+) passed(?: \(\d+ steps?\))? \| 0 failed \| (\d+) ignored /m,
      );
      assert.ok(summary, `no summary line with ignored tests:\n${output}`);
      const [passed, ignored] = [Number(summary[1]), Number(summary[2])];
      assert.ok(passed > 0, `the tests that need no permission did not run:\n${output}`);
      assert.ok(ignored > 0, output);

      const ignoredLines = result.stdout.split("\n").filter((line) =>
        / \.\.\. ignored \(/.test(line)
      );
      assert.equal(ignoredLines.length, ignored, output);
      for (const line of ignoredLines) {
        assert.match(
          line,
          / \(needs --allow-[a-z]+(?: --allow-[a-z]+)*; `deno task test` runs it\) \.\.\. ignored \(/,
        );
      }
      // The flags in each "(needs ...;" note, not others a test's name may mention.
      const notes = ignoredLines.map((line) => line.match(/\(needs ([^;]+);/)?.[1] ?? "");
      const named = new Set(notes.flatMap((note) => note.match(/--allow-[a-z]+/g) ?? []));
      assert.deepEqual([...named].sort(), NEEDED);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
