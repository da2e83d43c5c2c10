/**
 * The `SharedArrayBuffer` + `Atomics` wake-up experiment: could a call reach
 * an idle worker faster than `postMessage` does? Two ways to use it, each
 * against the same work (square a number, one awaited call at a time):
 *
 * - {@linkcode AtomicsNumbers}: the number travels in the shared buffer both
 *   ways, and the main thread waits with `Atomics.waitAsync`. The best case:
 *   no serializing at all, which only works for numbers.
 * - {@linkcode AtomicsCall}: a call shaped like the pool's (a batch of one
 *   chunk tuple) is written into the shared buffer with `node:v8`'s serializer,
 *   the worker wakes from `Atomics.wait`, and answers with an ordinary message,
 *   as the pool's results travel.
 * - {@linkcode AtomicsCallBothWays}: the same call, and its answer shaped like
 *   the pool's results, both serialized into the shared buffer; the main
 *   thread waits with `Atomics.waitAsync`. No message at all, for any value.
 * - {@linkcode PortWindow}: calls travel as messages on a `MessagePort`. After
 *   each answer the worker waits up to {@linkcode WINDOW_MS} in `Atomics.wait`
 *   and takes the next call with `receiveMessageOnPort`, skipping its event
 *   loop; it then gives the event loop one turn, as a pool would have to for
 *   its tasks' timers and promises. Past the window, the call arrives through
 *   the port's `onmessage`. (piscina and tinypool, worker pools for Node,
 *   take their next task with `Atomics.wait` and `receiveMessageOnPort` too.)
 *
 * The numbers-only figure is a measure of how fast a sleeping thread wakes,
 * and on a virtual machine that depends on the guest's idle loop. The 2-core
 * machine runs the `haltpoll` cpuidle driver: an idle virtual CPU polls for a
 * while before it halts, so a wake-up inside that window is cheap and one
 * after it goes through the hypervisor. What was measured fits that. A
 * ping-pong of bare numbers through `Atomics` took about 10 µs a call, but
 * run on its own it fell, after a few thousand calls, to about 110 µs, what
 * a message costs. Pinned to one core (`taskset -c 0`), where a wake-up needs
 * no other CPU, it stayed at 7 to 9 µs. A serialized call turns around too
 * slowly to keep the CPUs polling, and then it wakes no faster than a message.
 *
 * A worker blocked in `Atomics.wait` runs no timers, promises or messages
 * while it waits, which the pool would have to live with if it kept this.
 *
 * @module
 */

const HEADER = 16;

/** Starts a worker from `source`, handing it the shared buffer. */
function start(source: string, shared: SharedArrayBuffer): Worker {
  const url = "data:application/javascript," + encodeURIComponent(source);
  const worker = new Worker(url, { type: "module" });
  worker.postMessage(shared);
  return worker;
}

/** Tells a worker from {@linkcode start} to leave its wait loop (-1 as the sequence), and ends it. */
function stop(worker: Worker, control: Int32Array): void {
  Atomics.store(control, 0, -1);
  Atomics.notify(control, 0);
  worker.terminate();
}

/**
 * The source of a worker that waits in `Atomics.wait` for a serialized call
 * (see {@linkcode sendCall}), squares its number and then runs `reply`, which
 * sees the pool-shaped `results` and the loop's `v8`, `control`, `bytes` and
 * `seen`.
 */
function callWorker(reply: string): string {
  return `self.onmessage = async (e) => {
    const v8 = await import("node:v8");
    const control = new Int32Array(e.data, 0, 4);
    const bytes = new Uint8Array(e.data, ${HEADER});
    let seen = 0;
    for (;;) {
      Atomics.wait(control, 0, seen);
      seen = Atomics.load(control, 0);
      if (seen < 0) return;
      const [id, , , , , , items] = v8.deserialize(bytes.subarray(0, control[2]))[0];
      const start = performance.timeOrigin + performance.now();
      const value = items[0][0] * items[0][0];
      const end = performance.timeOrigin + performance.now();
      const results = [[id, [value], null, start, end]];
      ${reply}
    }
  };`;
}

/**
 * Writes call `seq` for `x`, shaped like the pool's (a batch of one chunk
 * tuple), into the shared buffer and wakes a {@linkcode callWorker}.
 */
function sendCall(
  control: Int32Array,
  bytes: Uint8Array,
  serialize: (value: unknown) => Uint8Array,
  seq: number,
  x: number,
): void {
  const call = serialize([[seq, 0, 1, 0, true, false, [[x]]]]);
  bytes.set(call);
  control[2] = call.length;
  Atomics.store(control, 0, seq);
  Atomics.notify(control, 0);
}

/** Numbers both ways through a shared buffer; `Atomics.waitAsync` on the main thread. */
export class AtomicsNumbers {
  #shared = new SharedArrayBuffer(HEADER + 16);
  #control = new Int32Array(this.#shared, 0, 4);
  #values = new Float64Array(this.#shared, HEADER, 2);
  #seq = 0;
  #worker: Worker;

  /** Starts the worker; it blocks in `Atomics.wait` between calls. */
  constructor() {
    this.#worker = start(
      `self.onmessage = (e) => {
        const control = new Int32Array(e.data, 0, 4);
        const values = new Float64Array(e.data, ${HEADER}, 2);
        let seen = 0;
        for (;;) {
          Atomics.wait(control, 0, seen);
          seen = Atomics.load(control, 0);
          if (seen < 0) return;
          values[1] = values[0] * values[0];
          Atomics.store(control, 1, seen);
          Atomics.notify(control, 1);
        }
      };`,
      this.#shared,
    );
  }

  /** Squares `x` on the worker. */
  async square(x: number): Promise<number> {
    const control = this.#control;
    this.#values[0] = x;
    const answered = Atomics.load(control, 1);
    Atomics.store(control, 0, ++this.#seq);
    Atomics.notify(control, 0);
    const wait = Atomics.waitAsync(control, 1, answered);
    if (wait.async) await wait.value;
    return this.#values[1];
  }

  /** Ends the worker. */
  close(): void {
    stop(this.#worker, this.#control);
  }
}

/** A pool-shaped call serialized into a shared buffer; the answer comes as a message. */
export class AtomicsCall {
  #shared = new SharedArrayBuffer(HEADER + 4096);
  #control = new Int32Array(this.#shared, 0, 4);
  #bytes = new Uint8Array(this.#shared, HEADER);
  #seq = 0;
  #worker: Worker;
  #pending: ((value: number) => void) | null = null;
  #serialize: (value: unknown) => Uint8Array;

  /** Starts the worker; `serialize` is `node:v8`'s. */
  constructor(serialize: (value: unknown) => Uint8Array) {
    this.#serialize = serialize;
    this.#worker = start(callWorker("self.postMessage(results);"), this.#shared);
    this.#worker.onmessage = (event) => this.#pending?.(event.data[0][1][0]);
  }

  /** Squares `x` on the worker. */
  square(x: number): Promise<number> {
    const answer = new Promise<number>((resolve) => this.#pending = resolve);
    sendCall(this.#control, this.#bytes, this.#serialize, ++this.#seq, x);
    return answer;
  }

  /** Ends the worker. */
  close(): void {
    stop(this.#worker, this.#control);
  }
}

/** A pool-shaped call and its answer, both serialized into the shared buffer. */
export class AtomicsCallBothWays {
  #shared = new SharedArrayBuffer(HEADER + 4096);
  #control = new Int32Array(this.#shared, 0, 4);
  #bytes = new Uint8Array(this.#shared, HEADER);
  #seq = 0;
  #worker: Worker;
  #v8: V8Serializer;

  /** Starts the worker; `v8` is `node:v8` (its `serialize` and `deserialize`). */
  constructor(v8: V8Serializer) {
    this.#v8 = v8;
    this.#worker = start(
      callWorker(`const answer = v8.serialize(results);
          bytes.set(answer);
          control[2] = answer.length;
          Atomics.store(control, 1, seen);
          Atomics.notify(control, 1);`),
      this.#shared,
    );
  }

  /** Squares `x` on the worker. */
  async square(x: number): Promise<number> {
    const control = this.#control;
    const answered = Atomics.load(control, 1);
    sendCall(control, this.#bytes, this.#v8.serialize, ++this.#seq, x);
    const wait = Atomics.waitAsync(control, 1, answered);
    if (wait.async) await wait.value;
    const [[, values]] = this.#v8.deserialize(this.#bytes.subarray(0, control[2])) as [
      [number, number[]],
    ];
    return values[0];
  }

  /** Ends the worker. */
  close(): void {
    stop(this.#worker, this.#control);
  }
}

/** `node:v8`'s two functions that {@linkcode AtomicsCallBothWays} uses. */
export interface V8Serializer {
  serialize(value: unknown): Uint8Array;
  deserialize(bytes: Uint8Array): unknown;
}

/** How long a {@linkcode PortWindow} worker waits for the next call before it sleeps in its event loop. */
export const WINDOW_MS = 1;

/** Pool-shaped calls on a `MessagePort`, taken synchronously while they come quickly. */
export class PortWindow {
  #signal = new Int32Array(new SharedArrayBuffer(4));
  #channel = new MessageChannel();
  #worker: Worker;
  #pending: ((value: number) => void) | null = null;
  #seq = 0;

  /** Starts the worker and hands it its end of the port. */
  constructor() {
    const url = "data:application/javascript," + encodeURIComponent(
      `import { receiveMessageOnPort } from "node:worker_threads";
      self.onmessage = (e) => {
        const { port, signal } = e.data;
        const answer = ([[id, , , , , , items]]) => {
          const start = performance.timeOrigin + performance.now();
          const value = items[0][0] * items[0][0];
          const end = performance.timeOrigin + performance.now();
          self.postMessage([[id, [value], null, start, end]]);
        };
        const window = () => {
          for (;;) {
            const seen = Atomics.load(signal, 0);
            const next = receiveMessageOnPort(port);
            if (next !== undefined) {
              answer(next.message);
              setImmediate(window);
              return;
            }
            if (Atomics.wait(signal, 0, seen, ${WINDOW_MS}) === "timed-out") return;
          }
        };
        port.onmessage = (event) => {
          answer(event.data);
          window();
        };
      };`,
    );
    this.#worker = new Worker(url, { type: "module" });
    this.#worker.onmessage = (event) => this.#pending?.(event.data[0][1][0]);
    const port = this.#channel.port2;
    this.#worker.postMessage({ port, signal: this.#signal }, [port]);
  }

  /** Squares `x` on the worker. */
  square(x: number): Promise<number> {
    const answer = new Promise<number>((resolve) => this.#pending = resolve);
    this.#channel.port1.postMessage([[this.#seq++, 0, 1, 0, true, false, [[x]]]]);
    Atomics.add(this.#signal, 0, 1);
    Atomics.notify(this.#signal, 0);
    return answer;
  }

  /** Ends the worker and closes the port. */
  close(): void {
    this.#worker.terminate();
    this.#channel.port1.close();
  }
}
