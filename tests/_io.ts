/**
 * Test helpers: an output sink that records lines, and a runner for scripts
 * as subprocesses.
 *
 * @module
 */

import type { Io } from "../demo/cli.ts";

/** An {@linkcode Io} that keeps every line written. */
export interface CapturedIo extends Io {
  readonly stdout: string[];
  readonly stderr: string[];
}

/** Makes an output sink that records lines instead of printing them. */
export function captureIo(): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(...line.split("\n")),
    err: (line) => stderr.push(...line.split("\n")),
    errRaw: (text) => stderr.push(text),
    errIsTerminal: false,
    outIsTerminal: false,
  };
}

/** The permission {@linkcode runDeno} needs: to run this same Deno executable. */
export const RUN_DENO: Deno.RunPermissionDescriptor = { name: "run", command: Deno.execPath() };

/** Where a subprocess runs and what it finds in its environment besides `NO_COLOR=1`. */
export interface RunOptions {
  readonly cwd?: string | URL;
  readonly env?: Record<string, string>;
}

/** What a finished subprocess printed and how it exited. */
export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `deno` with `args` from `cwd` (the project root unless given), with no
 * permission beyond what `args` grant. A process still running after
 * `deadlineMs` is killed, so a hang fails the test instead of stalling it.
 */
export async function runDeno(
  args: string[],
  deadlineMs = 30_000,
  { cwd = new URL("..", import.meta.url), env = {} }: RunOptions = {},
): Promise<ProcessResult> {
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    signal: AbortSignal.timeout(deadlineMs),
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}
