/**
 * The program every pool worker runs, as the source text a worker is
 * started from.
 *
 * A worker loaded from a file would need `--allow-read`; one made from
 * source needs no permission at all. The price is the rule tasks follow: the
 * program imports nothing at run time. It is written as pieces, one concern
 * a file, each a set of top-level functions (and one class) that use no
 * value imported at run time but each other and the constants below: the
 * type checker sees ordinary modules, and here their functions' source is
 * joined into one module, in whose scope every piece finds the others by
 * the names it imported them by. This file is the only one that knows the
 * pieces.
 *
 * @module
 */

import { BOARD, CLAIM_DONE, CLAIM_RUNNING, ERROR_TYPES, PACK_MIN } from "../_protocol.ts";
import { ErrorWriter } from "../_wire.ts";
import { claim, release, runBatch } from "./batch.ts";
import { clearBoard, plainJson, postOnBoard } from "./board.ts";
import { webWorkerChannel } from "./channel.ts";
import { die, handle, initialize, pump, reportEnds, runInitializer, workerMain } from "./main.ts";
import {
  beforeChunk,
  caughtUp,
  flushResults,
  hold,
  HOLD_MS,
  sendable,
  sendResults,
} from "./results.ts";
import { advance, advanceNumbers, fail, finish, isThenable, keep, runChunk } from "./run_chunk.ts";
import { now, stopped } from "./state.ts";
import {
  arrived,
  AWAKE_MS,
  newSpin,
  onCpu,
  onCpuCount,
  stayAwake,
  wentIdle,
} from "./stay_awake.ts";
import { compile, defineImported, defineTask, importTask, loadTask } from "./tasks.ts";

/**
 * The constants the pieces read: those both sides share (from `_protocol.ts`,
 * so that both read one definition) and the worker's own. Each is declared
 * at the top of the program under the name the pieces import it by.
 */
const CONSTANTS = {
  CLAIM_RUNNING,
  CLAIM_DONE,
  PACK_MIN,
  ERROR_TYPES,
  HOLD_MS,
  AWAKE_MS,
  BOARD,
};

/** Every function and class of the program, by the file that holds it. */
const PIECES: readonly { readonly name: string }[] = [
  // _wire.ts
  ErrorWriter,
  // channel.ts
  webWorkerChannel,
  // state.ts
  now,
  stopped,
  // tasks.ts
  compile,
  importTask,
  loadTask,
  defineTask,
  defineImported,
  // run_chunk.ts
  runChunk,
  advance,
  advanceNumbers,
  keep,
  isThenable,
  fail,
  finish,
  // batch.ts
  runBatch,
  claim,
  release,
  // results.ts
  hold,
  beforeChunk,
  caughtUp,
  flushResults,
  sendResults,
  sendable,
  // board.ts
  postOnBoard,
  plainJson,
  clearBoard,
  // stay_awake.ts
  newSpin,
  arrived,
  wentIdle,
  onCpu,
  onCpuCount,
  stayAwake,
  // main.ts
  workerMain,
  pump,
  handle,
  initialize,
  runInitializer,
  die,
  reportEnds,
];

let source: string | undefined;

/**
 * The worker program's source: run as a module in a Web Worker, it answers
 * the pool's messages (see `ToWorker` and `FromWorker` in `_protocol.ts`).
 *
 * @returns The program, the same string on every call.
 *
 * @example Start a worker by hand and run one chunk
 * ```ts
 * import { workerSource } from "./program.ts";
 * import assert from "node:assert/strict";
 *
 * const url = URL.createObjectURL(new Blob([workerSource()], { type: "application/javascript" }));
 * const worker = new Worker(url, { type: "module" });
 * const reply = new Promise<MessageEvent>((resolve) => worker.onmessage = resolve);
 * worker.postMessage({
 *   type: "init", workerId: 1, stop: new Int32Array(new SharedArrayBuffer(4)),
 *   initializer: null, initArgs: [],
 * });
 * worker.postMessage({ type: "define", fnId: 1, spec: { kind: "source", source: "(n) => n + 1" } });
 * // A batch of one chunk: [id, slot, tag, fnId, spread, settle, items].
 * worker.postMessage([[7, 0, 1, 1, false, false, [1, 2]]]);
 * const { data } = await reply;
 * worker.terminate();
 * URL.revokeObjectURL(url);
 * // Its results: [id, values, errors, start, end].
 * const [[id, values]] = data;
 * assert.equal(id, 7);
 * assert.deepEqual(values, [2, 3]);
 * ```
 */
export function workerSource(): string {
  source ??= [
    ...Object.entries(CONSTANTS).map(([name, value]) =>
      `const ${name} = ${JSON.stringify(value)};`
    ),
    ...PIECES.map(String),
    // The channel is the one thing that depends on how the worker was started.
    "workerMain(webWorkerChannel());",
    "//# sourceURL=pool-worker.js",
  ].join("\n\n") + "\n";
  return source;
}
