/**
 * `Dispatcher`, the engine behind `Pool`: it queues chunks, sends them out
 * in batches, hands results to their calls, and replaces workers that die.
 * What it decides is elsewhere, as pure functions: how many chunks a worker
 * may hold and which go where (`schedule.ts`), and what follows a death
 * (`recovery.ts`). Its workers, and when they start and end, are a `Crew`;
 * it reaches each through a `WorkerHandle` and the transport's link. Whether
 * the pool takes calls, and when it ends, is its `Lifecycle`.
 *
 * Longer than the 300 lines a file aims for: this is where the queue, the
 * workers and the calls meet, and what is left here is the wiring between
 * them, a few lines a method. Cut further, its pieces would hand the same
 * queue and workers back and forth, and the hot path (a chunk submitted,
 * sent, answered) would cross more objects.
 *
 * @module
 */

import type { Call, Chunk, Engine } from "./call.ts";
import type { ChunkResult, FromWorker, FunctionSpec } from "../_protocol.ts";
import { Crew } from "./crew.ts";
import { Deque } from "./deque.ts";
import {
  averageChunkMs,
  batchCap,
  byLoad,
  MIN_WINDOW,
  planBatches,
  planRebalance,
  room,
  windowFor,
} from "./schedule.ts";
import {
  type CrashRules,
  type Death,
  initializerDeath,
  initializerError,
  planRecovery,
  type RetryStep,
  silentDeath,
} from "./recovery.ts";
import { type Part, splitUnsendable } from "./unsendable.ts";
import { ThreadTransport } from "../transport/thread.ts";
import type { Transport } from "../transport/link.ts";
import type { WorkerHandle } from "./worker_handle.ts";
import type { WorkerInitError } from "../errors.ts";
import { FunctionTable } from "./functions.ts";
import { Lifecycle, type State } from "./lifecycle.ts";
import type { Recorder } from "../recorder.ts";

/**
 * How often, in ms, the pool looks at the result boards of workers that
 * hold two chunks or more: the longest a finished result waits when its
 * worker holds it while running a long synchronous chunk.
 */
const BOARD_POLL_MS = 2;

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
  /**
   * `true`: an idle worker may wait awake for a moment for its next message
   * (see `worker/stay_awake.ts`); `false`: it sleeps as soon as it is idle.
   *
   * @default {true}
   */
  readonly stayAwake?: boolean;
  /** How workers are started: threads of this process unless another transport is given. */
  readonly transport?: Transport;
}

/** Runs chunks on workers; see the module docs for how. */
export class Dispatcher implements Engine {
  #options: DispatcherOptions;
  #crew: Crew;
  #transport: Transport;
  #lifecycle: Lifecycle;
  #queue = new Deque<Chunk>();
  #functions = new FunctionTable();
  #nextChunkId = 0;
  /** Batches sent so far, to stamp each worker's last one. */
  #sends = 0;
  #flushScheduled = false;
  /** The next look at the workers' result boards, while one may hold results. */
  #boardTimer: ReturnType<typeof setTimeout> | undefined;
  /** The window follows the measured chunk time (see `windowFor`). */
  #limits: { window: number; readonly maxTasksPerChild: number };
  #averageChunkMs = -1;
  #crashRules: CrashRules;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    this.#limits = { window: MIN_WINDOW, maxTasksPerChild: options.maxTasksPerChild };
    this.#crashRules = {
      maxCrashes: options.maxCrashes,
      hasInitializer: options.initializer !== null,
      isModule: (fnId) => this.#functions.isModule(fnId),
    };
    this.#transport = options.transport ?? new ThreadTransport({
      workers: options.workers,
      permissions: options.permissions,
      stayAwake: options.stayAwake ?? true,
    });
    this.#crew = new Crew({
      size: options.workers,
      transport: this.#transport,
      initializer: options.initializer,
      initArgs: options.initArgs,
      idleTimeout: options.idleTimeout,
      events: {
        message: this.#onMessage,
        failure: this.#onFailure,
        started: () => this.#afterChange(),
        refused: (error) => this.#break(error),
        busy: () => this.#busy(),
      },
    });
    this.#lifecycle = new Lifecycle(this.#crew);
    this.#crew.fill();
  }

  /** Workers started and not yet ended. */
  get liveWorkers(): number {
    return this.#crew.handles.length;
  }

  /** `"open"`, `"closing"` (no new calls, work finishing) or `"closed"`. */
  get state(): State {
    return this.#lifecycle.state;
  }

  /** The error every new call must reject with, or `null` when calls are welcome. */
  refusal(): Error | null {
    return this.#lifecycle.refusal();
  }

  /** A stable id for a function, the same for the same source or module export. */
  fnId(spec: FunctionSpec): number {
    return this.#functions.idOf(spec);
  }

  track(call: Call): void {
    this.#lifecycle.track(call);
  }

  nextChunkId(): number {
    return this.#nextChunkId++;
  }

  submit(chunk: Chunk): void {
    this.#queue.push(chunk);
    // Chunks submitted in the same tick leave together in one message per worker.
    this.#flushSoon();
  }

  release(call: Call): void {
    this.#lifecycle.forget(call);
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
    this.#lifecycle.forget(call);
    this.#queue.removeWhere((chunk) => chunk.call === call);
    for (const handle of [...this.#crew.handles]) {
      if (handle.withdraw(call)) this.#replace(handle, []);
      else this.#removeIfSpent(handle);
    }
    this.#afterChange();
  }

  /**
   * Stops taking calls; the calls already made finish, then the workers end.
   * The pool does not wait for a stream's consumer (see `Lifecycle.idle`).
   */
  close(): void {
    this.#lifecycle.close();
    this.#checkIdle();
  }

  /** Ends every worker now and rejects every pending call. */
  terminate(): void {
    clearTimeout(this.#boardTimer);
    this.#boardTimer = undefined;
    this.#queue.removeWhere(() => true);
    this.#lifecycle.terminate();
  }

  /** Resolves once the pool is closed and every worker has ended. */
  async joined(): Promise<void> {
    await this.#lifecycle.joined();
    await this.#transport.settled();
  }

  #flushSoon(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  #flush = (): void => {
    this.#flushScheduled = false;
    if (this.#queue.size === 0 || this.#lifecycle.state === "closed") return;
    this.#crew.fillForWork();
    const limits = this.#limits;
    const targets = this.#crew.handles.filter((handle) => room(handle, limits) > 0);
    targets.sort(byLoad);
    const rooms = targets.map((handle) => room(handle, limits));
    const batches = planBatches(rooms, batchCap(limits.window), this.#nextLiveChunk);
    for (let t = 0; t < targets.length; t++) {
      for (const batch of batches[t]) this.#send(targets[t], batch);
    }
    this.#checkIdle();
  };

  #nextLiveChunk = (): Chunk | undefined => {
    let chunk = this.#queue.shift();
    while (chunk !== undefined && chunk.call.finished) chunk = this.#queue.shift();
    return chunk;
  };

  #send(handle: WorkerHandle, chunks: Chunk[]): void {
    try {
      handle.send(chunks, this.#functions);
      handle.lastSent = ++this.#sends;
    } catch (error) {
      this.#unsendable(handle, chunks, error);
      return;
    }
    if (handle.sent >= this.#limits.maxTasksPerChild) handle.retiring = true;
    // With two chunks or more, it may hold the first's results while it runs the next.
    if (handle.held >= 2) this.#watchBoards();
  }

  #watchBoards(): void {
    this.#boardTimer ??= setTimeout(this.#readBoards, BOARD_POLL_MS);
  }

  /**
   * Takes the results workers hold on their result boards (see
   * `worker/board.ts`): a worker that started a long synchronous chunk
   * cannot send them, and they would wait for it.
   */
  #readBoards = (): void => {
    this.#boardTimer = undefined;
    let taken = false;
    let again = false;
    for (const handle of [...this.#crew.handles]) {
      for (const { chunk, result } of handle.takeBoarded()) {
        taken = true;
        this.#deliver(handle, chunk, result);
      }
      this.#removeIfSpent(handle);
      again ||= handle.held >= 2;
    }
    if (taken) this.#afterChange();
    if (again) this.#watchBoards();
  };

  /** A batch could not be cloned: see `splitUnsendable`. */
  #unsendable(handle: WorkerHandle, chunks: Chunk[], batchError: unknown): void {
    const alone = splitUnsendable(chunks, batchError, this.#requeuePart);
    for (const chunk of alone) if (!chunk.call.finished) this.#send(handle, [chunk]);
    this.#flushSoon();
  }

  #requeuePart = (part: Part): void => {
    this.#queue.unshift(this.#part(part));
  };

  /** A new chunk holding `items[from ..< to]` of `chunk`, that has killed `crashes` workers. */
  #part({ chunk, from, to, crashes }: Part | RetryStep): Chunk {
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
        this.#break(initializerError(handle, message.error));
        return;
    }
    this.#afterChange();
  };

  /** A batch's results, in the order its chunks were sent. */
  #results(handle: WorkerHandle, results: readonly ChunkResult[]): void {
    for (const result of results) {
      // Taken from the result board already.
      if (handle.boarded.size > 0 && handle.boarded.delete(result[0])) continue;
      const chunk = handle.inFlight.shift();
      const [id] = result;
      if (chunk?.id !== id) {
        // A broken protocol must not hand one chunk's results to another.
        throw new Error(`Worker ${handle.id} answered for chunk ${id}, expected ${chunk?.id}`);
      }
      this.#deliver(handle, chunk, result);
    }
    this.#removeIfSpent(handle);
  }

  /** Hands a chunk's results to its call; the worker has answered, so it is past its initializer. */
  #deliver(handle: WorkerHandle, chunk: Chunk, result: ChunkResult): void {
    handle.answered = true;
    this.#measure(handle, chunk, result);
    chunk.call.receive(chunk, result, result[1].length, handle.id);
  }

  #onFailure = (handle: WorkerHandle, reason: string): void => {
    this.#crashed(handle, silentDeath(reason, handle.inFlight.peek()));
    this.#afterChange();
  };

  /** Feeds the window and the recorder from a chunk's timing. */
  #measure(handle: WorkerHandle, chunk: Chunk, [, values, , start, end]: ChunkResult): void {
    this.#averageChunkMs = averageChunkMs(this.#averageChunkMs, end - start);
    this.#limits.window = windowFor(this.#averageChunkMs);
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

  /** A worker died: acts on `recovery.ts`'s verdict, in its order, then replaces it. */
  #crashed(handle: WorkerHandle, death: Death): void {
    const broken = initializerDeath(death, handle, this.#crashRules);
    if (broken !== null) return this.#break(broken);
    const requeue: Chunk[] = [];
    for (const step of planRecovery(death, handle.drain(), handle, this.#crashRules)) {
      const call = step.chunk.call;
      switch (step.kind) {
        case "deliver":
          call.receive(step.chunk, step.result, step.count, handle.id);
          break;
        case "requeue":
          requeue.push(step.chunk);
          break;
        case "retry":
          if (!call.finished) requeue.push(this.#part(step));
          break;
        case "fail":
          for (let i = step.from; i < step.to && !call.finished; i++) {
            const at = step.chunk.start + i;
            call.itemFailed(at, step.error(at));
          }
      }
    }
    this.#replace(handle, requeue);
  }

  /** Ends a worker, puts `requeue` back at the front in order, and lets a flush start a new one. */
  #replace(handle: WorkerHandle, requeue: Chunk[]): void {
    requeue.push(...handle.drain());
    this.#crew.remove(handle);
    for (let i = requeue.length - 1; i >= 0; i--) this.#queue.unshift(requeue[i]);
    if (this.#queue.size > 0) this.#flushSoon();
  }

  /** A failure every fresh worker would repeat: the pool is broken, and ends. */
  #break(error: WorkerInitError): void {
    this.#lifecycle.breakWith(error);
    this.terminate();
  }

  #afterChange(): void {
    if (this.#queue.size === 0) this.#rebalance();
    if (this.#queue.size > 0) this.#flushSoon();
    else this.#checkIdle();
  }

  /** With nothing queued, a worker that holds nothing takes work from the busiest (see `planRebalance`). */
  #rebalance(): void {
    const plan = planRebalance(this.#crew.handles, this.#limits);
    if (plan === null) return;
    const taken = plan.from.takeBackLast(plan.count);
    if (taken.length === 0) return;
    // Straight to the idle worker: through the queue, a tie with a worker
    // left empty-handed could send them back to the one still starting.
    this.#send(plan.to, taken);
    this.#removeIfSpent(plan.from);
  }

  /** Removes a retiring worker that holds nothing: no answer will come to remove it on. */
  #removeIfSpent(handle: WorkerHandle): void {
    if (handle.retiring && handle.held === 0) this.#crew.remove(handle);
  }

  #busy(): boolean {
    if (this.#queue.size > 0) return true;
    for (const handle of this.#crew.handles) if (handle.held > 0) return true;
    return false;
  }

  #checkIdle(): void {
    if (this.#busy()) return;
    // Nothing is held: no board to watch, and no timer to keep the program alive.
    clearTimeout(this.#boardTimer);
    this.#boardTimer = undefined;
    this.#lifecycle.idle();
  }
}
