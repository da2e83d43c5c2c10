/**
 * The program every pool worker runs, as the source text a worker is
 * started from: self-contained, so that a worker made from it needs no
 * permission to load it.
 *
 * @module
 */

import { workerMain } from "./main.ts";

/** The worker program's source: run as a module, it answers the pool's messages. */
export function workerSource(): string {
  return `(${workerMain.toString()})();\n//# sourceURL=pool-worker.js\n`;
}
