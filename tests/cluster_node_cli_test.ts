import assert from "node:assert/strict";
import { main } from "../lib/cluster/node.ts";
import { runMain } from "../lib/cluster/_cli.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, lines: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
}

Deno.test("node.ts --help lists every flag", async () => {
  const io = capture();
  assert.equal(await runMain(main, ["--help"], io.lines), 0);
  const help = io.out.join("\n");
  for (
    const flag of [
      "--server",
      "--workers",
      "--stream",
      "--lease",
      "--max-deliver",
      "--allow-source",
      "--modules",
      "--task-read",
      "--task-net",
      "--isolation",
      "--user",
      "--pass",
      "--token",
      "--help",
    ]
  ) {
    assert.ok(help.includes(flag), `--help names ${flag}`);
  }
});

Deno.test("node.ts bad flags get one line on stderr and exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--frobnicate"], /^error: Unknown option '--frobnicate'/],
    [["--workers", "0"], /^error: --workers must be an integer from 1 to 1024, got "0"/],
    [["--lease", "x"], /^error: --lease must be an integer/],
    [["--isolation", "fork"], /^error: --isolation must be thread or process/],
    [["--stream", "a.b"], /^error: --stream must be letters/],
    [["stray"], /^error: Unexpected argument 'stray'/],
  ];
  for (const [args, pattern] of cases) {
    const io = capture();
    assert.equal(await runMain(main, args, io.lines), 2, args.join(" "));
    assert.equal(io.err.length, 1);
    assert.match(io.err[0], pattern);
    assert.deepEqual(io.out, []);
  }
});
