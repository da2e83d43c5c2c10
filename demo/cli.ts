/**
 * What the demo scripts share on the command line: flag parsing that turns
 * every mistake into one clear line and exit code 2, and an output sink that
 * tests can capture.
 *
 * @module
 */

import { PoolClosedError, TaskError, WorkerCrashedError, WorkerInitError } from "../lib/errors.ts";
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad command-line input: printed as one line, exit code 2. */
export class UsageError extends Error {
  /** Builds the error; `message` is the line the user sees. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where a script writes: lines to stdout and stderr, and whether stderr is a terminal. */
export interface Io {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
  /** Writes to standard error without a newline (progress bars). */
  errRaw(text: string): void;
  /** `true` when standard error is a terminal. */
  readonly errIsTerminal: boolean;
  /** `true` when standard output is a terminal and colour is allowed. */
  readonly outIsTerminal: boolean;
}

const encoder = new TextEncoder();

/** The process's real standard output and error. */
export const processIo: Io = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  errRaw: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
  get errIsTerminal() {
    return Deno.stderr.isTerminal();
  },
  get outIsTerminal() {
    return Deno.stdout.isTerminal() && Deno.noColor === false;
  },
};

/** A negative number, which parseArgs would take for a flag. */
const NEGATIVE = /^-(\d|\.\d|Infinity$)/;

/** The parsed flags and positionals of a command line. */
export interface Parsed {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

/**
 * Parses `args` strictly. Unknown flags and missing values become a
 * {@linkcode UsageError} with a one-line message.
 *
 * @example
 * ```ts
 * import { parseFlags, UsageError } from "./cli.ts";
 * import assert from "node:assert/strict";
 *
 * const options = { count: { type: "string" } } as const;
 * assert.equal(parseFlags(["--count", "3"], options).values.count, "3");
 * assert.throws(() => parseFlags(["--nope"], options), UsageError);
 * ```
 */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  allowPositionals = false,
): Parsed {
  // "--interval -5" is ambiguous to parseArgs; read it as "--interval=-5" so
  // the value check can say what is wrong with it. A negative number standing
  // alone is a positional ("pool.ts -3 4"): positionals go after "--", in order.
  const flags: string[] = [];
  const loose: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const next = args[i + 1];
    const takesValue = arg.startsWith("--") && options[arg.slice(2)]?.type === "string";
    if (arg === "--") {
      loose.push(...args.slice(i + 1));
      break;
    } else if (takesValue && next !== undefined && (NEGATIVE.test(next) || !next.startsWith("-"))) {
      flags.push(`${arg}=${next}`);
      i++;
    } else if (arg.startsWith("-") && !(allowPositionals && NEGATIVE.test(arg))) {
      flags.push(arg);
    } else {
      loose.push(arg);
    }
  }
  const joined = loose.length > 0 ? [...flags, "--", ...loose] : flags;
  try {
    const { values, positionals } = parseArgs({
      args: joined,
      options,
      allowPositionals,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's messages run to several sentences; the first says what is wrong.
    const first = message.split(/\.\s/)[0].replace(/\.$/, "");
    throw new UsageError(first);
  }
}

/** Bounds for {@linkcode integerFlag}. */
export interface IntegerBounds {
  /** Smallest allowed value. */
  readonly min: number;
  /** Largest allowed value. */
  readonly max?: number;
}

/**
 * Reads an integer flag value, or returns `fallback` when the flag is absent.
 *
 * @throws {UsageError} The value is not an integer within bounds.
 */
export function integerFlag(
  name: string,
  raw: string | boolean | undefined,
  fallback: number,
  bounds: IntegerBounds,
): number {
  if (raw === undefined) return fallback;
  const value = typeof raw === "string" && /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(value) || value < bounds.min || value > max) {
    const range = bounds.max === undefined
      ? `an integer of ${bounds.min} or more`
      : `an integer from ${bounds.min} to ${bounds.max}`;
    throw new UsageError(`--${name} must be ${range}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Runs a script's `main`, turning a {@linkcode UsageError} into one line on
 * stderr and exit code 2. Any other error is a bug and keeps its stack.
 */
export async function runScript(
  main: (args: string[], io: Io) => Promise<number>,
  args: string[],
  io: Io = processIo,
): Promise<number> {
  try {
    return await main(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${oneLine(error.message)} (see --help)`);
      return 2;
    }
    // The pool's own failures (a node that refuses a task, a worker that
    // cannot start) are the program's outcome, not a bug: one line, exit 1.
    if (
      error instanceof TaskError || error instanceof WorkerCrashedError ||
      error instanceof WorkerInitError || error instanceof PoolClosedError
    ) {
      io.err(`error: ${oneLine(error.message)}`);
      return 1;
    }
    throw error;
  }
}

/** `text` with control characters (a newline in an argument) escaped, so it prints as one line. */
function oneLine(text: string): string {
  let line = "";
  for (const char of text) {
    const code = char.charCodeAt(0);
    line += code < 0x20 || code === 0x7f ? JSON.stringify(char).slice(1, -1) : char;
  }
  return line;
}

/** How a timeline should be drawn on `io`'s standard output. */
export function chartStyle(io: Io): "ascii" | "color" {
  return io.outIsTerminal ? "color" : "ascii";
}

/**
 * Refuses flags that cannot be given together.
 *
 * @throws {UsageError} More than one of `flags` is set in `values`.
 */
export function exclusiveFlags(values: Parsed["values"], ...flags: string[]): void {
  const given = flags.filter((flag) => values[flag] !== undefined && values[flag] !== false);
  if (given.length > 1) {
    throw new UsageError(`give ${given.map((flag) => `--${flag}`).join(" or ")}, not both`);
  }
}

/** A time (or ratio) rounded to three decimals, for JSON output: microseconds for ms. */
export function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}
