/**
 * `CpuBoard`: where a pool's workers mark whether they are on a CPU.
 *
 * An idle worker may wait for the pool's next message awake, spinning, for
 * a moment, instead of sleeping (see `worker/stay_awake.ts`). That only pays while a
 * CPU is free: a worker spinning on a CPU the main thread needs slows the
 * main thread down, and with it every task. So each worker has a slot on a
 * shared board, 1 while it runs a batch or waits awake and 0 while it
 * sleeps, and it waits awake only while the board leaves a CPU for the main
 * thread. The board also counts the messages the pool posts to any of its
 * workers: a worker waiting awake stops when the pool sends work elsewhere,
 * and leaves its CPU to the worker that work went to.
 *
 * @module
 */

/** The shared slots of a pool's workers, and which of them are free. */
export class CpuBoard {
  /** One slot per worker: 1 while it is on a CPU, else 0. */
  readonly slots: Int32Array;
  /** Messages the pool has posted to any of its workers. */
  readonly posts: Int32Array = new Int32Array(new SharedArrayBuffer(4));
  #free: number[];

  /** A board of `size` slots, all free. */
  constructor(size: number) {
    this.slots = new Int32Array(new SharedArrayBuffer(4 * size));
    this.#free = Array.from({ length: size }, (_, i) => size - 1 - i);
  }

  /** A slot for a new worker, or -1 when every slot is taken (the worker then never waits awake). */
  take(): number {
    return this.#free.pop() ?? -1;
  }

  /** Clears the slot of a worker that has ended, and frees it for the next. */
  give(slot: number): void {
    if (slot < 0) return;
    Atomics.store(this.slots, slot, 0);
    this.#free.push(slot);
  }
}
