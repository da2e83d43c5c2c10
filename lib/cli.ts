/**
 * What the demo scripts share on the command line: flag parsing that turns
 * every mistake into one clear line and exit code 2, and an output sink that
 * tests can capture.
 *
 * @module
 */

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
  // the value check can say what is wrong with it.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith("--") ? args[i].slice(2) : "";
    const next = args[i + 1];
    if (options[name]?.type === "string" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`${args[i]}=${next}`);
      i++;
    } else {
      joined.push(args[i]);
    }
  }
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
      io.err(`error: ${error.message} (see --help)`);
      return 2;
    }
    throw error;
  }
}
