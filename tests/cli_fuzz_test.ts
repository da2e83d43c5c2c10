/**
 * Command-line fuzz: hundreds of generated argument lists, from a fixed seed,
 * fed to both scripts. Every run must exit 0 or 2; an exit 2 prints exactly
 * one line and no stack trace; nothing else may escape.
 */
import assert from "node:assert/strict";
import { main as poolMain } from "../pool.ts";
import { main as threadsMain } from "../threads.ts";
import { runScript } from "../demo/cli.ts";
import { captureIo, RUN_DENO, runDeno } from "./_io.ts";
import { needs } from "./_needs.ts";
import { seededRandom } from "./_random.ts";

const SEED = 7_2026;
const RUNS_PER_SCRIPT = 200;

/** Values that are wrong in every way we could think of, and a few right ones. */
const WORDS = [
  "",
  " ",
  "0",
  "1",
  "2",
  "3",
  "-1",
  "-0",
  "1.5",
  "1e3",
  "0x10",
  "NaN",
  "Infinity",
  "-Infinity",
  "99999999999999999999",
  "257",
  "abc",
  "--",
  "-",
  "=",
  "é",
  "数字",
  "🙂",
  "\u0000",
  "\n",
  "'; rm -rf /",
  "%s%n",
];

const SCRIPTS = {
  threads: {
    main: threadsMain,
    flags: ["--threads", "--count", "--interval", "--cpu", "--work", "--timeline", "--json"],
    // Values a run can take without running for long.
    safe: { "--threads": "2", "--count": "2", "--interval": "1", "--work": "1" } as Record<
      string,
      string
    >,
  },
  pool: {
    main: poolMain,
    flags: ["--workers", "--range", "--chunk-size", "--work", "--timeline", "--json", "--quiet"],
    safe: { "--workers": "2", "--range": "50", "--chunk-size": "3", "--work": "1" } as Record<
      string,
      string
    >,
  },
};

const EXTRA_FLAGS = ["--help", "-h", "-q", "--nope", "-x", "--json=1", "--threads=", "--=", "---"];

type Script = keyof typeof SCRIPTS;

/** A random argument list for `script`. */
function generate(script: Script, random: () => number): string[] {
  const { flags } = SCRIPTS[script];
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const args: string[] = [];
  const length = Math.floor(random() * 6);
  for (let i = 0; i < length; i++) {
    const roll = random();
    if (roll < 0.5) {
      const flag = pick(flags);
      const form = random();
      if (form < 0.5) args.push(flag, pick(WORDS));
      else if (form < 0.75) args.push(`${flag}=${pick(WORDS)}`);
      else args.push(flag);
    } else if (roll < 0.65) {
      args.push(pick(EXTRA_FLAGS));
    } else {
      args.push(pick(WORDS));
    }
  }
  return args;
}

/**
 * Bounds a generated list so that a run that is valid stays short: numeric
 * flags whose given value would mean a long run get a small one, and the slow
 * defaults (1 s interval, 20M-operation steps) are overridden when absent.
 */
function keepShort(script: Script, args: string[]): string[] {
  const { safe } = SCRIPTS[script];
  const bounded = args.map((arg, i) => {
    const flag = args[i - 1];
    if (flag in safe && /^\s*\d+\s*$/.test(arg) && Number(arg) > Number(safe[flag])) {
      return safe[flag];
    }
    const [name, value] = arg.split("=", 2);
    if (value !== undefined && name in safe && /^\s*\d+\s*$/.test(value)) {
      return Number(value) > Number(safe[name]) ? `${name}=${safe[name]}` : arg;
    }
    return arg;
  });
  if (script === "threads") {
    const cpu = bounded.includes("--cpu");
    const has = (flag: string) => bounded.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
    if (!cpu && !has("--interval")) bounded.push("--interval=1");
    if (cpu && !has("--work")) bounded.push("--work=1");
    if (!has("--count")) bounded.push("--count=2");
  }
  return bounded;
}

function* cases(): Generator<[Script, string[]]> {
  const random = seededRandom(SEED);
  for (let i = 0; i < RUNS_PER_SCRIPT; i++) {
    for (const script of ["threads", "pool"] as const) {
      yield [script, keepShort(script, generate(script, random))];
    }
  }
}

Deno.test(`${2 * RUNS_PER_SCRIPT} generated command lines all exit 0 or 2 with one clear line`, async () => {
  const seen = { 0: 0, 2: 0 };
  for (const [script, args] of cases()) {
    const io = captureIo();
    const what = `${script}.ts ${JSON.stringify(args)}`;
    let code: number;
    try {
      code = await runScript(SCRIPTS[script].main, args, io);
    } catch (error) {
      assert.fail(`${what} threw: ${error instanceof Error ? error.stack : error}`);
    }
    assert.ok(code === 0 || code === 2, `${what} exited ${code}`);
    seen[code]++;
    if (code === 2) {
      assert.equal(io.stderr.length, 1, `${what}: ${JSON.stringify(io.stderr)}`);
      assert.match(io.stderr[0], /^error: .+ \(see --help\)$/, what);
      assert.doesNotMatch(io.stderr[0], /\bat \S+:\d+:\d+/, what);
      assert.deepEqual(io.stdout, [], what);
    }
  }
  // The generator reaches both outcomes often, or it tests little.
  assert.ok(seen[0] > 40 && seen[2] > 40, JSON.stringify(seen));
});

Deno.test(
  needs("a sample of them on the real command line: no stack trace, one line", RUN_DENO),
  async () => {
    // Every 33rd case, about a dozen, as real processes (a real argv cannot hold NUL).
    const sample = [...cases()].filter(([, args], i) =>
      i % 33 === 0 && !args.some((arg) => arg.includes("\u0000"))
    );
    assert.ok(sample.length >= 10);
    for (const [script, args] of sample) {
      const result = await runDeno(["run", `${script}.ts`, ...args]);
      const what = `${script}.ts ${JSON.stringify(args)}`;
      assert.ok(result.code === 0 || result.code === 2, `${what} exited ${result.code}`);
      assert.doesNotMatch(result.stderr, /\bat \S+:\d+:\d+/, what);
      if (result.code === 2) assert.equal(result.stderr.trimEnd().split("\n").length, 1, what);
    }
  },
);
