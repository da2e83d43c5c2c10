/**
 * Minimal hand-written Web Worker pools: one message per task, pipelined,
 * round-robin, no chunking, no error handling. They are the floor for what a
 * message costs, against which the real pool is measured.
 *
 * @module
 */

/**
 * A `blob:` URL for a worker program, as the pool makes its own: workers
 * started from one began sooner than from a `data:` URL. Revoke it when done.
 */
export function programUrl(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
}

/** Workers running `source`, which answers each `[id, payload]` with `[id, result]`. */
class FloorWorkers<In, Out> {
  #workers: Worker[] = [];
  #pending = new Map<number, (value: Out) => void>();
  #next = 0;
  #url: string;

  constructor(size: number, source: string) {
    const url = this.#url = programUrl(source);
    for (let i = 0; i < size; i++) {
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (e: MessageEvent<[number, Out]>) => {
        const resolve = this.#pending.get(e.data[0]);
        this.#pending.delete(e.data[0]);
        resolve?.(e.data[1]);
      };
      this.#workers.push(worker);
    }
  }

  /**
   * Sends `payload` to the next worker in turn. A transfer list is passed only
   * when there is something to transfer: an empty one made an awaited round
   * trip 10-54 µs slower in four A/B runs of five on the 2-core machine.
   */
  send(payload: In, transfer?: Transferable[]): Promise<Out> {
    const id = this.#next++;
    const worker = this.#workers[id % this.#workers.length];
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      if (transfer === undefined) worker.postMessage([id, payload]);
      else worker.postMessage([id, payload], transfer);
    });
  }

  close(): void {
    for (const worker of this.#workers) worker.terminate();
    URL.revokeObjectURL(this.#url);
  }
}

/**
 * The smallest pool that runs a function of a number on workers, one message
 * per task: `x * x` unless another self-contained function is given.
 */
export class FloorPool {
  #workers: FloorWorkers<number, number>;

  /** Starts `size` workers, each running `fn` on what it is sent. */
  constructor(size: number, fn: (x: number) => number = (x) => x * x) {
    this.#workers = new FloorWorkers(
      size,
      `const fn = (${fn.toString()});
      self.onmessage = (e) => self.postMessage([e.data[0], fn(e.data[1])]);`,
    );
  }

  /** Runs the function on `x` on the next worker in turn. */
  run(x: number): Promise<number> {
    return this.#workers.send(x);
  }

  /** Ends every worker. */
  close(): void {
    this.#workers.close();
  }
}

/**
 * The floor pool again, with messages shaped like the pool's: a batch of one
 * chunk tuple, answered by a batch of one result tuple with timings.
 * Against {@linkcode FloorPool} it shows what the shape of a message costs.
 */
export class ShapedFloorPool {
  #workers: FloorWorkers<unknown, unknown[][]>;

  /** Starts `size` workers. */
  constructor(size: number) {
    this.#workers = new FloorWorkers(
      size,
      `self.onmessage = (e) => {
        const [id, , , , , , items] = e.data[1][0];
        const start = performance.timeOrigin + performance.now();
        const values = [items[0][0] * items[0][0]];
        const end = performance.timeOrigin + performance.now();
        self.postMessage([e.data[0], [[id, values, null, start, end]]]);
      };`,
    );
  }

  /** Squares `x` on the next worker in turn. */
  async square(x: number): Promise<number> {
    const run = [[0, 0, 1, 0, true, false, [[x]]]];
    const [[, values]] = await this.#workers.send(run);
    return (values as number[])[0];
  }

  /** Ends every worker. */
  close(): void {
    this.#workers.close();
  }
}

/**
 * The floor for a map over numbers: chunks of a `Float64Array`, transferred
 * to the workers and back, squared in place. Nothing is cloned.
 */
export class PackedFloor {
  #workers: FloorWorkers<Float64Array, Float64Array>;

  /** Starts `size` workers. */
  constructor(size: number) {
    this.#workers = new FloorWorkers(
      size,
      `self.onmessage = (e) => {
        const [id, numbers] = e.data;
        for (let i = 0; i < numbers.length; i++) numbers[i] = numbers[i] * numbers[i];
        self.postMessage([id, numbers], [numbers.buffer]);
      };`,
    );
  }

  /** Squares every number, `chunk` at a time, spread over the workers in turn. */
  async squares(numbers: readonly number[], chunk: number): Promise<Float64Array> {
    const out = new Float64Array(numbers.length);
    const parts: Promise<void>[] = [];
    for (let start = 0; start < numbers.length; start += chunk) {
      const part = Float64Array.from(numbers.slice(start, start + chunk));
      parts.push(
        this.#workers.send(part, [part.buffer]).then((squared) => out.set(squared, start)),
      );
    }
    await Promise.all(parts);
    return out;
  }

  /** Ends every worker. */
  close(): void {
    this.#workers.close();
  }
}

/**
 * What a user writes by hand for a CPU-bound map: `size` workers, each sent
 * an equal share of the items in one message, as an array, and answering
 * with its share of the results. The machine's limit for such a job.
 */
export class SplitFloor {
  #workers: FloorWorkers<unknown[], unknown[]>;
  #size: number;

  /** Starts `size` workers, each running the self-contained `fn` on every item it is sent. */
  constructor(size: number, fn: (x: never) => unknown) {
    this.#size = size;
    this.#workers = new FloorWorkers(
      size,
      `const fn = (${fn.toString()});
      self.onmessage = (e) => self.postMessage([e.data[0], e.data[1].map((x) => fn(x))]);`,
    );
  }

  /** Runs the function on every item, each worker on one contiguous share; results in order. */
  async map(items: readonly unknown[]): Promise<unknown[]> {
    const share = Math.ceil(items.length / this.#size);
    const parts: Promise<unknown[]>[] = [];
    for (let start = 0; start < items.length; start += share) {
      parts.push(this.#workers.send(items.slice(start, start + share)));
    }
    return (await Promise.all(parts)).flat();
  }

  /** Ends every worker. */
  close(): void {
    this.#workers.close();
  }
}
