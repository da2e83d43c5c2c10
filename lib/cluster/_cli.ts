/**
 * The command line of the node program: strict flags, and every mistake one
 * line on standard error with exit code 2. Kept inside `lib/` (not shared
 * with the demos' `demo/cli.ts`) so that the published package runs it.
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

/** Where the node program writes its lines. */
export interface Lines {
  /** Writes one line to standard output. */
  out(line: string): void;
  /** Writes one line to standard error. */
  err(line: string): void;
}

/** Parses `args` strictly: an unknown flag or a missing value is a {@linkcode UsageError}. */
export function parseFlags(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
): Record<string, string | boolean | string[] | undefined> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<
      string,
      string | boolean | string[] | undefined
    >;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Node's messages run to several sentences; the first says what is wrong.
    throw new UsageError(message.split(/\.\s/)[0].replace(/\.$/, ""));
  }
}

/** An integer flag's value within bounds, or `fallback` when absent. */
export function integerFlag(
  name: string,
  raw: unknown,
  fallback: number,
  { min, max }: { min: number; max: number },
): number {
  if (raw === undefined) return fallback;
  const value = typeof raw === "string" && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return value;
}

/** Runs `main`, turning a {@linkcode UsageError} into one line and exit code 2. */
export async function runMain(
  main: (args: string[], lines: Lines) => Promise<number>,
  args: string[],
  lines: Lines,
): Promise<number> {
  try {
    return await main(args, lines);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    lines.err(`error: ${oneLine(error.message)} (see --help)`);
    return 2;
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
