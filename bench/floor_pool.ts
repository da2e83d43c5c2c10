/**
 * A minimal hand-written Web Worker pool: one message per task, pipelined,
 * round-robin, no chunking, no error handling. It is the floor for what a
 * message costs, against which the real pool is measured.
 *
 * @module
 */

const SOURCE = `self.onmessage = (e) => {
  const [id, x] = e.data;
  self.postMessage([id, x * x]);
};`;

/** The smallest pool that runs `x * x` on workers, one message per task. */
export class FloorPool {
  #workers: Worker[] = [];
  #pending = new Map<number, (value: number) => void>();
  #next = 0;

  /** Starts `size` workers. */
  constructor(size: number) {
    const url = "data:application/javascript," + encodeURIComponent(SOURCE);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (e: MessageEvent<[number, number]>) => {
        const resolve = this.#pending.get(e.data[0]);
        this.#pending.delete(e.data[0]);
        resolve?.(e.data[1]);
      };
      this.#workers.push(worker);
    }
  }

  /** Squares `x` on the next worker in turn. */
  square(x: number): Promise<number> {
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length];
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      worker.postMessage([id, x]);
    });
  }

  /** Ends every worker. */
  close(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
