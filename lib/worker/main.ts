/**
 * The harness of the worker program: it makes the program's state, handles
 * the pool's messages strictly in order, and makes sure that however the
 * worker ends, the pool hears how, and what was done by then.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import {
  ERROR_TYPES,
  type FunctionSpec,
  type SerializedError,
  type ToWorker,
} from "../_protocol.ts";
import { ErrorWriter } from "../_wire.ts";
import { runBatch } from "./batch.ts";
import type { Channel } from "./channel.ts";
import { now, stopped, type WorkerState } from "./state.ts";
import { arrived, newSpin, onCpu, stayAwake, wentIdle } from "./stay_awake.ts";
import { defineTask, loadTask } from "./tasks.ts";

/**
 * Runs the worker: answers the pool's messages on `channel` until the worker
 * ends.
 *
 * Chunks run one at a time, in the order they arrive; a batch's results go
 * back in one message, or sooner while the pool keeps up (see `results.ts`).
 * A task may return a promise, which is awaited before the next item starts.
 *
 * @param channel The worker's line to the pool; made before any task runs.
 */
export function workerMain(channel: Channel): void {
  const w: WorkerState = {
    channel,
    errors: new ErrorWriter(ERROR_TYPES),
    origin: performance.timeOrigin,
    tasks: new Map(),
    resume: () => pump(w),
    crash: (error) => {
      die(w, "uncaught", w.errors.write(error));
      channel.close();
    },
    stop: null,
    claims: null,
    read: null,
    board: null,
    inbox: [],
    head: 0,
    pumping: false,
    dying: false,
    loading: null,
    running: null,
    held: [],
    heldSince: 0,
    resultsPosted: 0,
    boarded: 0,
    boardSlots: 0,
    boardChars: 0,
    spin: newSpin(() => stayAwake(w)),
  };
  reportEnds(w);
  channel.listen((message) => {
    arrived(w);
    w.inbox.push(message);
    if (!w.pumping) pump(w);
  });
}

/**
 * Handles messages strictly in order; an async step pauses the queue, never
 * reorders it.
 *
 * @param w The worker's state.
 */
export function pump(w: WorkerState): void {
  w.pumping = true;
  onCpu(w.spin, 1);
  const inbox = w.inbox;
  while (w.head < inbox.length && !stopped(w)) {
    const message = inbox[w.head] as ToWorker;
    inbox[w.head++] = undefined;
    const pending = handle(w, message);
    if (pending !== undefined) {
      onCpu(w.spin, 0);
      pending.then(w.resume, w.crash);
      return;
    }
  }
  inbox.length = 0;
  w.head = 0;
  w.pumping = false;
  onCpu(w.spin, 0);
  wentIdle(w);
}

/**
 * Handles one message.
 *
 * @returns A promise while it goes on asynchronously.
 */
export function handle(w: WorkerState, message: ToWorker): void | Promise<void> {
  if (Array.isArray(message)) return runBatch(w, message, 0);
  switch (message.type) {
    case "define":
      return defineTask(w, message);
    case "init":
      return initialize(w, message);
  }
}

/**
 * Takes the shared memory `init` hands over; only an initializer makes it
 * asynchronous.
 *
 * @returns A promise while the initializer runs.
 */
export function initialize(
  w: WorkerState,
  message: Extract<ToWorker, { type: "init" }>,
): void | Promise<void> {
  w.stop = message.stop;
  w.claims = message.claims ?? null;
  w.spin.shared = message.awake ?? null;
  w.read = message.read ?? null;
  w.board = message.board ?? null;
  if (message.initializer !== null) {
    return runInitializer(w, message.initializer, message.initArgs);
  }
}

/** Runs the pool's initializer; if it fails, says so and ends the worker. */
export async function runInitializer(
  w: WorkerState,
  spec: FunctionSpec,
  args: readonly unknown[],
): Promise<void> {
  w.loading = "init";
  try {
    const init = await loadTask(spec);
    await init(...args);
    w.loading = null;
  } catch (error) {
    w.channel.post({ type: "init-failed", error: w.errors.write(error) });
    w.dying = true;
    w.channel.close();
  }
}

/**
 * Sends the last word before the worker goes: what finished, and where it
 * died. Only the first call sends anything.
 *
 * @param w The worker's state.
 * @param how What ended it.
 * @param error What escaped, written down; `null` when nothing did.
 */
export function die(
  w: WorkerState,
  how: "close" | "exit" | "uncaught",
  error: SerializedError | null,
): void {
  if (w.dying) return;
  w.dying = true;
  const results = w.held.slice();
  const running = w.running;
  let chunkId: number | null = null;
  let index = -1;
  if (running !== null) {
    chunkId = running.id;
    index = running.index;
    const values = (running.numbers ?? running.values).slice(0, index);
    results.push([running.id, values, running.errors, running.start, now(w)]);
  }
  const loading = w.loading;
  try {
    w.channel.post({ type: "dying", how, error, results, chunkId, index, loading });
  } catch {
    w.channel.post({ type: "dying", how, error, results: [], chunkId, index, loading });
  }
}

/**
 * Makes every way a worker can end send its last word first (see `die`).
 *
 * @param w The worker's state.
 */
export function reportEnds(w: WorkerState): void {
  const global = globalThis as unknown as { close(): void };
  const denoNs = Deno as unknown as { exit(code?: number): never };
  // Deno tells the parent nothing when a worker ends itself, so the two ways a
  // task can do that are wrapped to send a last message first.
  global.close = () => {
    die(w, "close", null);
    w.channel.close();
  };
  denoNs.exit = ((code?: number) => {
    const error = new Error(`Deno.exit(${code ?? 0}) was called inside the worker`);
    die(w, "exit", w.errors.write(error));
    w.channel.close();
  }) as (code?: number) => never;
  // An error no task caught (a throwing timer, an unhandled rejection) would
  // end the worker with a report on stderr; instead it becomes the last message.
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    die(w, "uncaught", w.errors.write(event.error));
    w.channel.close();
  });
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    die(w, "uncaught", w.errors.write(event.reason));
    w.channel.close();
  });
}
