/**
 * Waiting awake: the worker's side of the stay-awake spin.
 *
 * Idle, a worker may wait for the next message awake, spinning, for up to
 * half a millisecond, instead of sleeping: on a virtual machine, waking a
 * sleeping thread can cost more than the rest of a round trip. It does so
 * only once the promise callbacks already queued have run, only when its
 * last wait was that short with no work sent to another worker meanwhile,
 * only while the pool's `CpuBoard` shows a CPU free besides the main
 * thread's, and ever more rarely while its waits catch nothing.
 *
 * The switch is `init`'s `awake` field: a worker started without it sleeps
 * as soon as it is idle, and everything here does nothing.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import type { StayAwake } from "../_protocol.ts";
import { stopped, type WorkerState } from "./state.ts";

/** The longest an idle worker waits awake for the next message, in ms. */
export const AWAKE_MS = 0.5;

/** What the worker keeps to decide whether to wait awake. */
export interface Spin {
  /** The shared memory `init` hands over; `null` until then, or for good: never wait awake. */
  shared: StayAwake | null;
  /** Messages received, to compare with the count the pool posted. */
  received: number;
  /** When the worker last ran out of messages, by `performance.now()`. */
  idleSince: number;
  /** The pool's count of messages posted to any worker when it ran out. */
  idleBoardPosts: number;
  /** The pool's count of messages posted to this worker when it ran out. */
  idlePosted: number;
  /**
   * Whether its last wait for a message was one that waiting awake would
   * have caught and that cost no other thread a CPU: short, and with no
   * message to any other worker meanwhile (the pool then had work for them
   * and the main thread was busy, as when many small tasks stream through).
   */
  quickReturn: boolean;
  /** Waits awake in a row that ended with no message for this worker. */
  misses: number;
  /** Idle spells to sleep through before waiting awake again: 2^misses - 1. */
  skips: number;
  /** `true` while a wait is queued. */
  queued: boolean;
  /** CPUs the pool's workers may hold at once: one is left for the main thread. */
  readonly workerCpus: number;
  /** `stayAwake` bound to the worker's state, made once: it is queued at every idle spell. */
  readonly wait: () => void;
}

/**
 * A worker's stay-awake record, before `init`.
 *
 * @param wait `stayAwake` bound to the worker's state.
 * @returns The record.
 */
export function newSpin(wait: () => void): Spin {
  return {
    shared: null,
    received: 0,
    idleSince: -Infinity,
    idleBoardPosts: 0,
    idlePosted: 0,
    quickReturn: false,
    misses: 0,
    skips: 0,
    queued: false,
    workerCpus: navigator.hardwareConcurrency - 1,
    wait,
  };
}

/**
 * Counts a message that has arrived; when it finds the worker idle, notes
 * whether it came soon enough for a wait awake to have caught it.
 *
 * @param w The worker's state.
 */
export function arrived(w: WorkerState): void {
  const spin = w.spin;
  spin.received++;
  const shared = spin.shared;
  if (w.pumping || shared === null) return;
  const toAll = Atomics.load(shared.boardPosts, 0) - spin.idleBoardPosts;
  const toThis = Atomics.load(shared.posted, 0) - spin.idlePosted;
  spin.quickReturn = toAll === toThis && performance.now() - spin.idleSince <= AWAKE_MS;
}

/**
 * Notes that the worker has run out of messages, and queues a wait awake.
 *
 * @param w The worker's state.
 */
export function wentIdle(w: WorkerState): void {
  const spin = w.spin;
  spin.idleSince = performance.now();
  const shared = spin.shared;
  if (shared === null) return;
  spin.idleBoardPosts = Atomics.load(shared.boardPosts, 0);
  spin.idlePosted = Atomics.load(shared.posted, 0);
  if (!spin.queued) {
    spin.queued = true;
    // A microtask, not setImmediate: the first setImmediate in a worker
    // loads Deno's Node compatibility layer, about 6 ms that held up every
    // new worker's first chunk (2 cores).
    queueMicrotask(spin.wait);
  }
}

/**
 * Marks this worker's slot on the pool's `CpuBoard`.
 *
 * @param spin The worker's stay-awake record.
 * @param value 1 while it is on a CPU, else 0.
 */
export function onCpu(spin: Spin, value: 0 | 1): void {
  const shared = spin.shared;
  if (shared !== null && shared.slot >= 0) Atomics.store(shared.board, shared.slot, value);
}

/** Workers of the pool marked on a CPU. */
export function onCpuCount(board: Int32Array): number {
  let count = 0;
  for (let i = 0; i < board.length; i++) count += Atomics.load(board, i);
  return count;
}

/**
 * Waits awake until the pool posts again, for up to `AWAKE_MS`, and then
 * returns to the event loop, which finds the message already there. Awaited
 * calls one at a time took 84-101 µs instead of 146-184 with this (2 cores).
 *
 * @param w The worker's state.
 */
export function stayAwake(w: WorkerState): void {
  const spin = w.spin;
  spin.queued = false;
  const shared = spin.shared;
  if (shared === null || shared.slot < 0 || w.pumping || !spin.quickReturn || stopped(w)) return;
  if (spin.skips > 0) {
    spin.skips--;
    return;
  }
  const { posted, board, boardPosts } = shared;
  const workerCpus = spin.workerCpus;
  // Read before its own count: a message posted after this read changes
  // the pool's count, one posted before it shows in its own.
  const seen = Atomics.load(boardPosts, 0);
  if (Atomics.load(posted, 0) !== spin.received) return;
  // Marked first and counted after, so two workers deciding at once
  // cannot both miss each other. It gives up its CPU as soon as the pool
  // posts to any worker, or another worker comes on a CPU.
  onCpu(spin, 1);
  const until = performance.now() + AWAKE_MS;
  while (
    Atomics.load(boardPosts, 0) === seen && onCpuCount(board) <= workerCpus &&
    performance.now() < until && !stopped(w)
  ) {
    // Nothing to do until the next message arrives.
  }
  onCpu(spin, 0);
  // A wait that caught nothing for this worker cost a CPU for nothing:
  // the next ones are skipped, twice as many after each such wait.
  if (Atomics.load(posted, 0) !== spin.received) {
    spin.misses = 0;
  } else {
    spin.misses = Math.min(spin.misses + 1, 6);
    spin.skips = (1 << spin.misses) - 1;
  }
}
