/**
 * The engine behind `Pool`: it keeps the workers, queues chunks, sends them
 * out in batches, gathers results, and replaces workers that die.
 *
 * Scheduling in one paragraph: chunks wait in one FIFO queue. On each flush
 * every worker with room receives chunks, the least loaded first, in batches
 * of up to half its window, one message each, so that it starts on its next
 * batch while the answer to the last one travels. How many chunks a worker
 * may hold (its window) follows the measured chunk time: a worker holds about
 * 2 ms of queued work, and at least two chunks, the one it runs and the next,
 * so it never waits on a round trip between chunks; tiny ones go up to 512 at
 * a time, so the cost of a message is shared by many tasks. A worker answers
 * once per batch. When the queue is empty and a worker has nothing, it takes
 * half the chunks that the busiest worker has not started yet, or its only
 * one (see `RunChunk` for how a chunk is taken back), so no worker sits idle
 * while another has work waiting: as in Python's pool, where each worker
 * takes the next task when it is free.
 *
 * Workers start one per turn of the event loop, the first at once when work
 * arrives and none has started, so work begins while the rest start.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import type { Call, Chunk, Engine } from "./call.ts";
import type { ChunkItems, ChunkResult, FromWorker, FunctionSpec, RunChunk } from "../_protocol.ts";
import { CpuBoard } from "../transport/cpu_board.ts";
import { Deque } from "./deque.ts";
import { WorkerHandle } from "../transport/thread.ts";
import { describeCause, PoolClosedError, WorkerCrashedError, WorkerInitError } from "../errors.ts";
import { reviveError } from "../_wire.ts";
import type { Recorder } from "../recorder.ts";

/** Settings the dispatcher runs with; validated by `Pool`. */
export interface DispatcherOptions {
  readonly workers: number;
  readonly initializer: FunctionSpec | null;
  readonly initArgs: readonly unknown[];
  readonly maxTasksPerChild: number;
  readonly maxCrashes: number;
  readonly idleTimeout: number;
  readonly permissions: Deno.PermissionOptions | undefined;
  readonly recorder: Recorder | undefined;
}

/** The longest delay a timer takes, in ms: 2^31 - 1, about 24.8 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Queued work per worker, in ms, that the window aims for. */
const TARGET_QUEUED_MS = 2;
const MIN_WINDOW = 2;
const MAX_WINDOW = 512;

type State = "open" | "closing" | "closed";

/** Runs chunks on workers; see the module docs for how. */
export class Dispatcher implements Engine {
  #options: DispatcherOptions;
  #handles: WorkerHandle[] = [];
  #queue = new Deque<Chunk>();
  #calls = new Set<Call>();
  #specs: FunctionSpec[] = [];
  #fnIds = new Map<string, number>();
  #nextChunkId = 0;
  /** Batches sent so far, to stamp each worker's last one. */
  #sends = 0;
  #nextWorkerId = 1;
  #flushScheduled = false;
  #state: State = "open";
  #broken: WorkerInitError | null = null;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the pool last went idle, by `performance.now()`. */
  #idleSince = 0;
  /** The pending turn of the event loop that starts the next missing worker. */
  #spawnTurn: ReturnType<typeof setImmediate> | undefined;
  #joined: Promise<void>;
  #resolveJoined!: () => void;
  #window = MIN_WINDOW;
  #avgChunkMs = -1;
  /** A slot for each live worker: those retiring and their replacements. */
  #board: CpuBoard;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#board = new CpuBoard(2 * options.workers);
    this.#joined = new Promise((resolve) => this.#resolveJoined = resolve);
    this.#spawnMissing(false);
  }

  /** Workers started and not yet ended. */
  get liveWorkers(): number {
    return this.#handles.length;
  }

  /** `"open"`, `"closing"` (no new calls, work finishing) or `"closed"`. */
  get state(): State {
    return this.#state;
  }

  /** The error every new call must reject with, or `null` when calls are welcome. */
  refusal(): Error | null {
    if (this.#broken !== null) return this.#broken;
    if (this.#state !== "open") return new PoolClosedError();
    return null;
  }

  /** A stable id for a function, the same for the same source or module export. */
  fnId(spec: FunctionSpec): number {
    const key = spec.kind === "source" ? `s:${spec.source}` : `m:${spec.url}#${spec.exportName}`;
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#specs.length;
      this.#specs.push(spec);
      this.#fnIds.set(key, id);
    }
    return id;
  }

  track(call: Call): void {
    this.#calls.add(call);
  }

  nextChunkId(): number {
    return this.#nextChunkId++;
  }

  submit(chunk: Chunk): void {
    this.#queue.push(chunk);
    if (!this.#flushScheduled) {
      // Chunks submitted in the same tick leave together in one message per worker.
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  release(call: Call): void {
    this.#calls.delete(call);
    // Its queued chunks are skipped when they reach the front; chunks already
    // on a worker finish and are ignored. Only an abort ends workers.
    this.#afterChange();
  }

  /**
   * Ends the call's work now: its queued chunks are dropped, its chunks that
   * workers hold but have not started are taken back, and a worker running
   * one of its chunks is ended and replaced. Other calls' chunks on that
   * worker go back to the front of the queue.
   */
  abort(call: Call): void {
    this.#calls.delete(call);
    this.#queue.removeWhere((chunk) => chunk.call === call);
    for (const handle of [...this.#handles]) {
      let running = false;
      const held = handle.inFlight.size;
      for (let i = 0; i < held; i++) {
        const chunk = handle.inFlight.shift() as Chunk;
        if (chunk.call === call) {
          const stood = handle.takeBack(chunk);
          if (stood === "taken") continue;
          if (stood === "running") running = true;
        }
        handle.inFlight.push(chunk);
      }
      if (running) this.#replace(handle, []);
      else this.#removeIfSpent(handle);
    }
    this.#afterChange();
  }

  /**
   * Stops taking calls; the calls already made finish, then the workers end.
   * A stream computes at most its window of results ahead of its consumer, so
   * the pool does not wait for a consumer: once every call left is a stream
   * that only its consumer can move on, the workers end and `joined()`
   * resolves. A stream read on after that starts workers again, and they end
   * when it next waits for its consumer or finishes.
   */
  close(): void {
    if (this.#state === "open") this.#state = "closing";
    this.#checkIdle();
  }

  /** Ends every worker now and rejects every pending call. */
  terminate(): void {
    this.#state = "closed";
    const calls = [...this.#calls];
    this.#calls.clear();
    this.#queue.removeWhere(() => true);
    for (const call of calls) {
      call.fail(this.#broken ?? new PoolClosedError("The pool was terminated"));
    }
    this.#shutdown();
  }

  /** Resolves once the pool is closed and every worker has ended. */
  joined(): Promise<void> {
    return this.#joined;
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#queue.size === 0 || this.#state === "closed") return;
    this.#spawnMissing(true);
    const targets = this.#handles.filter((handle) => this.#room(handle) > 0);
    // Least loaded first; among equals, the one sent to last. It is the one
    // likeliest to be waiting awake for its next message (see workerMain);
    // one that has gone to sleep must first be woken.
    targets.sort((a, b) => a.inFlight.size - b.inFlight.size || b.lastSent - a.lastSent);
    const rooms = targets.map((handle) => this.#room(handle));
    // Each worker's chunks go in batches of up to half its window, a message
    // each: it starts on its next batch while the answer to the last travels.
    const batchCap = Math.max(1, this.#window >> 1);
    const batches: Chunk[][][] = targets.map(() => []);
    let open = targets.length;
    while (open > 0) {
      open = 0;
      for (let t = 0; t < targets.length; t++) {
        if (rooms[t] === 0) continue;
        const chunk = this.#nextLiveChunk();
        if (chunk === undefined) {
          open = 0;
          break;
        }
        const last = batches[t].at(-1);
        if (last !== undefined && last.length < batchCap) last.push(chunk);
        else batches[t].push([chunk]);
        if (--rooms[t] > 0) open++;
      }
    }
    for (let t = 0; t < targets.length; t++) {
      for (const batch of batches[t]) this.#send(targets[t], batch);
    }
    this.#checkIdle();
  };

  /** Chunks the handle may still take in this flush. */
  #room(handle: WorkerHandle): number {
    if (handle.retiring) return 0;
    const byWindow = this.#window - handle.inFlight.size;
    const byLife = this.#options.maxTasksPerChild - handle.sent;
    return Math.max(0, Math.min(byWindow, byLife));
  }

  #nextLiveChunk(): Chunk | undefined {
    let chunk = this.#queue.shift();
    while (chunk !== undefined && chunk.call.finished) chunk = this.#queue.shift();
    return chunk;
  }

  #send(handle: WorkerHandle, chunks: Chunk[]): void {
    const wire: RunChunk[] = [];
    for (const chunk of chunks) {
      const call = chunk.call;
      handle.define(call.fnId, this.#specs[call.fnId]);
      handle.assign(chunk);
      // Packed numbers are copied, not transferred: the chunk keeps its items
      // in case its worker dies and it must run again.
      wire.push([
        chunk.id,
        chunk.slot,
        chunk.tag,
        call.fnId,
        call.spread,
        call.settle,
        chunk.items,
      ]);
    }
    try {
      handle.run(chunks, wire);
      handle.lastSent = ++this.#sends;
    } catch (error) {
      this.#unsendable(handle, chunks, error);
      return;
    }
    if (handle.sent >= this.#options.maxTasksPerChild) handle.retiring = true;
  }

  /**
   * A batch could not be cloned. Find the items at fault (this runs only on
   * failure, so trying each one is affordable), fail them with an error that
   * names their index, and send the rest again.
   *
   * Where no item of a chunk is at fault on its own (a getter that throws
   * only on some reads), the chunk is sent again at once, alone: were it
   * queued again with the others, the next batch could fail the same way,
   * and the pool would try it for ever, one microtask after another. Alone,
   * a chunk that still cannot be sent fails each of its items.
   */
  #unsendable(handle: WorkerHandle, chunks: Chunk[], batchError: unknown): void {
    const alone: Chunk[] = [];
    for (let c = chunks.length - 1; c >= 0; c--) {
      const chunk = chunks[c];
      const call = chunk.call;
      const bad: number[] = [];
      const reasons = new Map<number, string>();
      for (let i = 0; i < chunk.items.length; i++) {
        try {
          structuredClone(chunk.items[i]);
        } catch (error) {
          bad.push(i);
          reasons.set(i, cloneFailure(error));
        }
      }
      if (bad.length === 0) {
        if (chunks.length > 1) {
          alone.unshift(chunk);
          continue;
        }
        // Alone, and still no item at fault on its own: each shares the blame.
        for (let i = 0; i < chunk.items.length; i++) {
          bad.push(i);
          reasons.set(i, cloneFailure(batchError));
        }
      }
      let from = 0;
      for (const i of bad) {
        if (call.finished) break;
        call.itemFailed(
          chunk.start + i,
          new TypeError(
            `Cannot send item ${chunk.start + i} to a worker: ${reasons.get(i)} ` +
              `(items must be structured-cloneable: no functions, symbols or objects with methods)`,
          ),
        );
        if (i > from) this.#queue.unshift(this.#part(chunk, from, i, 0));
        from = i + 1;
      }
      if (!call.finished && from < chunk.items.length) {
        this.#queue.unshift(this.#part(chunk, from, chunk.items.length, 0));
      }
    }
    for (const chunk of alone) if (!chunk.call.finished) this.#send(handle, [chunk]);
    this.submitLater();
  }

  /** A new chunk holding `items[from ..< to]` of `chunk`. */
  #part(chunk: Chunk, from: number, to: number, crashes: number): Chunk {
    return {
      id: this.nextChunkId(),
      call: chunk.call,
      start: chunk.start + from,
      items: chunk.items.slice(from, to),
      crashes,
      slot: -1,
      tag: 0,
    };
  }

  /** Schedules a flush for chunks put back on the queue. */
  submitLater(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  #onMessage = (handle: WorkerHandle, message: FromWorker): void => {
    if (Array.isArray(message)) {
      this.#results(handle, message);
      this.#afterChange();
      return;
    }
    switch (message.type) {
      case "dying":
        this.#crashed(handle, message);
        break;
      case "init-failed":
        this.#broken = new WorkerInitError(
          `The pool's initializer failed in worker ${handle.id}: ${message.error.message}`,
          { cause: reviveError(message.error) },
        );
        this.terminate();
        return;
    }
    this.#afterChange();
  };

  /** A batch's results, in the order its chunks were sent. */
  #results(handle: WorkerHandle, results: readonly ChunkResult[]): void {
    handle.answered = true;
    for (const result of results) {
      const chunk = handle.inFlight.shift();
      const [id, values] = result;
      if (chunk?.id !== id) {
        // A broken protocol must not hand one chunk's results to another.
        throw new Error(`Worker ${handle.id} answered for chunk ${id}, expected ${chunk?.id}`);
      }
      this.#measure(handle, chunk, result);
      this.#complete(chunk, result, values.length, handle.id);
    }
    this.#removeIfSpent(handle);
  }

  #onFailure = (handle: WorkerHandle, reason: string): void => {
    // The worker could not report this itself, so where it stopped is unknown:
    // the chunk it was running is blamed from its first item.
    const first = handle.inFlight.peek();
    this.#crashed(handle, {
      type: "dying",
      how: "uncaught",
      error: { type: "Error", name: "Error", message: reason, stack: undefined, props: {} },
      results: [],
      chunkId: first?.id ?? null,
      index: 0,
      loading: null,
    });
    this.#afterChange();
  };

  /** Feeds the window estimate and the recorder from a chunk's timing. */
  #measure(handle: WorkerHandle, chunk: Chunk, [, values, , start, end]: ChunkResult): void {
    const ms = end - start;
    this.#avgChunkMs = this.#avgChunkMs < 0 ? ms : this.#avgChunkMs * 0.8 + ms * 0.2;
    const window = Math.ceil(TARGET_QUEUED_MS / Math.max(this.#avgChunkMs, 1e-3));
    this.#window = Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, window));
    const recorder = this.#options.recorder;
    if (recorder === undefined) return;
    try {
      recorder.chunk(handle.id, chunk.start, values.length, start, end);
    } catch (error) {
      // A subclass's chunk() threw, inside the handler of a worker's message,
      // where an error that escaped would end the program.
      chunk.call.fail(error);
    }
  }

  /** Hands a chunk's results for its first `count` items to its call. */
  #complete(chunk: Chunk, [, values, errors]: ChunkResult, count: number, workerId: number): void {
    const call = chunk.call;
    if (call.finished) return;
    if (errors === null) {
      if (count > 0) {
        call.deliver(chunk.start, count === values.length ? values : slice(values, 0, count));
      }
      return;
    }
    const ordered = [...errors].sort((a, b) => a.index - b.index);
    let from = 0;
    for (const item of ordered) {
      if (item.index >= count) break;
      if (item.index > from) call.deliver(chunk.start + from, slice(values, from, item.index));
      const index = chunk.start + item.index;
      call.itemFailed(
        index,
        call.taskError(index, reviveError(item.error), workerId, item.unsendable === true),
      );
      if (call.finished) return;
      from = item.index + 1;
    }
    if (from < count) call.deliver(chunk.start + from, slice(values, from, count));
  }

  /**
   * A worker died. What it finished is delivered; the item it was running is
   * blamed and tried again on a fresh worker until it has killed
   * `maxCrashes` of them; every other chunk it held goes back to the queue.
   *
   * A worker that died running no chunk was killed by what it was loading.
   * Its initializer, while it ran or before the worker's first task (the
   * only code that had run there), breaks the pool as an initializer that
   * throws does: every fresh worker would die the same way. A task module
   * that it imported, or a task's source that it compiled (a class's static
   * block runs then), is blamed on the first chunk that needed it, all of
   * it, as none of its items started. A worker that died between chunks (a
   * timer an earlier task left behind) had already sent that task's result:
   * its chunks go back to the queue, and no task is blamed.
   */
  #crashed(handle: WorkerHandle, death: Extract<FromWorker, { type: "dying" }>): void {
    const { results, index, error, how, loading } = death;
    if (
      death.chunkId === null &&
      (loading === "init" ||
        loading === null && this.#options.initializer !== null && !handle.answered)
    ) {
      const cause = error === null ? undefined : reviveError(error);
      this.#broken = new WorkerInitError(
        `The pool's initializer failed in worker ${handle.id}: the worker died ${
          loading === "init" ? "while it ran" : "before its first task"
        } (${deathNote("the initializer", how, cause)})`,
        { cause },
      );
      this.terminate();
      return;
    }
    const held: Chunk[] = [];
    while (handle.inFlight.size > 0) held.push(handle.inFlight.shift() as Chunk);
    let chunkId = death.chunkId;
    // Died loading a function: importing its module, or compiling its source.
    const importing = chunkId === null && typeof loading === "number";
    if (importing) chunkId = held.find((chunk) => chunk.call.fnId === loading)?.id ?? null;
    const byId = new Map(results.map((result) => [result[0], result]));
    const requeue: Chunk[] = [];
    for (const chunk of held) {
      const result = byId.get(chunk.id);
      if (chunk.id !== chunkId) {
        if (result !== undefined) this.#complete(chunk, result, result[1].length, handle.id);
        else requeue.push(chunk);
        continue;
      }
      const done = importing ? 0 : Math.max(0, index);
      if (result !== undefined && done > 0) this.#complete(chunk, result, done, handle.id);
      const call = chunk.call;
      if (call.finished) continue;
      const crashes = chunk.crashes + 1;
      // Blamed from the item that was running to the one after it; an import
      // is blamed on the whole chunk.
      const end = importing ? chunk.items.length : done + 1;
      if (crashes < this.#options.maxCrashes) {
        // The item that was running is retried alone, so its crash count is its
        // own; the items after it never ran and start again with a clean count.
        requeue.push(this.#part(chunk, done, end, crashes));
        if (end < chunk.items.length) {
          requeue.push(this.#part(chunk, end, chunk.items.length, 0));
        }
        continue;
      }
      const cause = error === null ? undefined : reviveError(error);
      const tried = `it was tried on ${crashes} worker${crashes === 1 ? "" : "s"}`;
      for (let i = done; i < end && !call.finished; i++) {
        const at = chunk.start + i;
        const doing = !importing
          ? `running task ${at} (${deathNote("the task", how, cause)})`
          : this.#specs[call.fnId].kind === "module"
          ? `importing the module of task ${at} (${deathNote("the module", how, cause)})`
          : `loading the function of task ${at} (${deathNote("the function", how, cause)})`;
        call.itemFailed(
          at,
          new WorkerCrashedError(`Worker ${handle.id} died while ${doing}; ${tried}`, {
            workerId: handle.id,
            index: at,
            cause,
          }),
        );
      }
      if (!call.finished && end < chunk.items.length) {
        requeue.push(this.#part(chunk, end, chunk.items.length, 0));
      }
    }
    this.#replace(handle, requeue);
  }

  /** Ends a worker, puts `requeue` back at the front in order, and lets a flush start a new one. */
  #replace(handle: WorkerHandle, requeue: Chunk[]): void {
    while (handle.inFlight.size > 0) requeue.push(handle.inFlight.shift() as Chunk);
    this.#remove(handle);
    for (let i = requeue.length - 1; i >= 0; i--) this.#queue.unshift(requeue[i]);
    if (this.#queue.size > 0) this.submitLater();
  }

  #remove(handle: WorkerHandle): void {
    handle.terminate();
    const at = this.#handles.indexOf(handle);
    if (at < 0) return;
    this.#handles.splice(at, 1);
    this.#board.give(handle.boardSlot);
  }

  /**
   * Starts missing workers one per turn of the event loop. Deno holds the
   * thread that calls `new Worker()` until the worker's runtime exists (14 ms
   * a worker on the 2-core machine, 50 ms for three in a row), so starting
   * them all at once would keep the caller, and the first worker's work,
   * waiting for the last one. With `now`, one starts at once when no worker
   * is active, so queued work has somewhere to go.
   */
  #spawnMissing(now: boolean): void {
    if (this.#state === "closed") return;
    let active = this.#activeWorkers();
    if (active >= this.#options.workers) return;
    if (now && active === 0) {
      if (!this.#spawn()) return;
      active++;
    }
    if (this.#spawnTurn === undefined && active < this.#options.workers) {
      // setImmediate, not setTimeout(0): a turn took about 10 µs against 2 ms,
      // and workers' messages are still handled between turns.
      this.#spawnTurn = setImmediate(this.#spawnNext);
    }
  }

  #spawnNext = (): void => {
    this.#spawnTurn = undefined;
    if (this.#state === "closed" || this.#activeWorkers() >= this.#options.workers) return;
    this.#spawn();
    this.#spawnMissing(false);
    this.#afterChange();
  };

  #activeWorkers(): number {
    let active = 0;
    for (const handle of this.#handles) if (!handle.retiring) active++;
    return active;
  }

  /**
   * Starts a worker. Deno may refuse to (`permissions` that the program does
   * not hold, or of a shape it rejects), and would refuse every other worker
   * alike: the pool is then broken, as by a failing initializer, and this
   * returns `false`. It runs inside event callbacks, where an error that
   * escaped would end the program.
   */
  #spawn(): boolean {
    const id = this.#nextWorkerId++;
    const boardSlot = this.#board.take();
    try {
      this.#handles.push(
        new WorkerHandle({
          id,
          initializer: this.#options.initializer,
          initArgs: this.#options.initArgs,
          permissions: this.#options.permissions,
          board: this.#board,
          boardSlot,
          onMessage: this.#onMessage,
          onFailure: this.#onFailure,
        }),
      );
      return true;
    } catch (error) {
      this.#board.give(boardSlot);
      this.#broken = new WorkerInitError(
        `Cannot start worker ${id} as Deno refused to create it: ${describeCause(error)}`,
        { cause: error },
      );
      this.terminate();
      return false;
    }
  }

  #afterChange(): void {
    if (this.#queue.size === 0) this.#rebalance();
    if (this.#queue.size > 0) this.submitLater();
    else this.#checkIdle();
  }

  /**
   * With nothing queued, a worker that has nothing takes back half the
   * chunks the busiest worker has not started, from the back of its line,
   * or its only chunk when it has not started that: a worker still starting
   * holds chunks it cannot run yet, and a pool's first few tiny items would
   * otherwise wait tens of milliseconds for it.
   */
  #rebalance(): void {
    const idle = this.#handles.find((handle) => !handle.retiring && handle.inFlight.size === 0);
    if (idle === undefined) return;
    let busiest: WorkerHandle | undefined;
    for (const handle of this.#handles) {
      if (handle.inFlight.size > (busiest?.inFlight.size ?? 0)) busiest = handle;
    }
    if (busiest === undefined) return;
    const taken: Chunk[] = [];
    const wanted = Math.min(this.#room(idle), Math.max(1, busiest.inFlight.size >> 1));
    for (let n = wanted; n > 0; n--) {
      const chunk = busiest.inFlight.peekBack() as Chunk;
      // Not taken: it has started, and so has every chunk before it.
      if (busiest.takeBack(chunk) !== "taken") break;
      taken.push(busiest.inFlight.pop() as Chunk);
    }
    if (taken.length === 0) return;
    // Straight to the idle worker: through the queue, a tie with a worker
    // left empty-handed could send them back to the one still starting.
    this.#send(idle, taken.reverse());
    this.#removeIfSpent(busiest);
  }

  /** Removes a retiring worker that holds nothing: no answer will come to remove it on. */
  #removeIfSpent(handle: WorkerHandle): void {
    if (handle.retiring && handle.inFlight.size === 0) this.#remove(handle);
  }

  #busy(): boolean {
    if (this.#queue.size > 0) return true;
    for (const handle of this.#handles) if (handle.inFlight.size > 0) return true;
    return false;
  }

  #checkIdle(): void {
    if (this.#busy()) return;
    let waitingForConsumers = true;
    for (const call of this.#calls) {
      if (call.finished) this.#calls.delete(call);
      else if (!call.waitsForConsumer) waitingForConsumers = false;
    }
    if (this.#state === "closing" && this.#calls.size === 0) {
      this.#state = "closed";
      this.#shutdown();
      return;
    }
    if (this.#state === "closing" && waitingForConsumers) {
      // Still "closing": the streams left may be read on (see `close`).
      this.#shutdown();
      return;
    }
    if (
      this.#state !== "closed" && this.#handles.length > 0 &&
      Number.isFinite(this.#options.idleTimeout)
    ) {
      // An idle Web Worker keeps the process alive, and Deno offers no way to
      // unref one; ending idle workers lets a program that forgot close() exit.
      // A closing pool whose calls wait on their input ends them the same way.
      // The timer is not cleared when work arrives: it checks when it fires,
      // which spares a pool of awaited calls a timer set and cleared for each.
      this.#idleSince = performance.now();
      if (this.#idleTimer === undefined) this.#armIdleTimer(this.#options.idleTimeout);
    }
  }

  #armIdleTimer(ms: number): void {
    // A delay longer than a timer holds would be cut to 1 ms, and the timer
    // would fire every millisecond, each time finding time left. Capped, it
    // fires early and sets itself again for what is left.
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      // Busy: the next idle moment sets it again.
      if (this.#busy()) return;
      const left = this.#idleSince + this.#options.idleTimeout - performance.now();
      if (left > 0) return this.#armIdleTimer(left);
      this.#stopSpawning();
      for (const handle of [...this.#handles]) this.#remove(handle);
    }, Math.min(ms, MAX_TIMER_MS));
  }

  #stopSpawning(): void {
    if (this.#spawnTurn !== undefined) clearImmediate(this.#spawnTurn);
    this.#spawnTurn = undefined;
  }

  #shutdown(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#stopSpawning();
    for (const handle of [...this.#handles]) this.#remove(handle);
    this.#resolveJoined();
  }
}

function slice(values: ChunkItems, from: number, to: number): ChunkItems {
  return ArrayBuffer.isView(values) ? values.subarray(from, to) : values.slice(from, to);
}

/** How a worker died, for an error message: `"the task called self.close()"`. */
function deathNote(who: string, how: "close" | "exit" | "uncaught", cause: unknown): string {
  return how === "close"
    ? `${who} called self.close()`
    : how === "exit"
    ? `${who} called Deno.exit()`
    : `an uncaught error: ${
      cause instanceof Error ? describeCause(cause.message) : describeCause(cause)
    }`;
}

/** Why a value could not be cloned: what a getter threw may be anything, even what String() throws on. */
function cloneFailure(error: unknown): string {
  return error instanceof Error ? describeCause(error.message) : describeCause(error);
}
