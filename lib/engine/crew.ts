/**
 * `Crew`: the pool's live workers, and when they start and end. Workers
 * start one per turn of the event loop, the first at once when work arrives
 * and none has started, so work begins while the rest start; they end when
 * they are replaced, when the pool shuts down, or after `idleTimeout` with
 * nothing to do.
 *
 * @module
 */

import { clearImmediate, setImmediate } from "node:timers";
import type { FromWorker, FunctionSpec } from "../_protocol.ts";
import type { Transport } from "../transport/link.ts";
import { WorkerHandle } from "./worker_handle.ts";
import { describeCause, WorkerInitError } from "../errors.ts";

/** The longest delay a timer takes, in ms: 2^31 - 1, about 24.8 days. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the crew needs from the dispatcher. */
export interface CrewEvents {
  /** A message from a worker. */
  message(handle: WorkerHandle, message: FromWorker): void;
  /** A worker failed in a way it could not report itself. */
  failure(handle: WorkerHandle, reason: string): void;
  /** A worker started on a later turn of the event loop: it may take work. */
  started(): void;
  /** The transport refused to start a worker, and would refuse every other alike. */
  refused(error: WorkerInitError): void;
  /** `true` while work is queued or held by a worker: the idle timer then ends nobody. */
  busy(): boolean;
}

/** How many workers to keep, how to start them, and when to end idle ones. */
export interface CrewOptions {
  readonly size: number;
  readonly transport: Transport;
  readonly initializer: FunctionSpec | null;
  readonly initArgs: readonly unknown[];
  /** Ms with nothing to do after which every worker ends; `Infinity` for never. */
  readonly idleTimeout: number;
  readonly events: CrewEvents;
}

/** The live workers: those retiring and their replacements. */
export class Crew {
  #options: CrewOptions;
  #handles: WorkerHandle[] = [];
  #nextId = 1;
  /** The pending turn of the event loop that starts the next missing worker. */
  #turn: ReturnType<typeof setImmediate> | undefined;
  /** Set once the pool has closed: no worker starts again. */
  #closed = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the pool last went idle, by `performance.now()`. */
  #idleSince = 0;

  constructor(options: CrewOptions) {
    this.#options = options;
  }

  /** The live workers, in the order they started. */
  get handles(): readonly WorkerHandle[] {
    return this.#handles;
  }

  /**
   * Starts missing workers one per turn of the event loop. Deno holds the
   * thread that calls `new Worker()` until the worker's runtime exists (14 ms
   * a worker on the 2-core machine, 50 ms for three in a row), so starting
   * them all at once would keep the caller, and the first worker's work,
   * waiting for the last one.
   */
  fill(): void {
    if (!this.#closed) this.#fill(this.#active());
  }

  /** As `fill()`, but one starts at once when no worker is active, so queued work has somewhere to go. */
  fillForWork(): void {
    if (this.#closed) return;
    let active = this.#active();
    if (active === 0) {
      if (!this.#start()) return;
      active++;
    }
    this.#fill(active);
  }

  /** Ends a worker and forgets it. */
  remove(handle: WorkerHandle): void {
    handle.terminate();
    const at = this.#handles.indexOf(handle);
    if (at >= 0) this.#handles.splice(at, 1);
  }

  /**
   * The pool has gone idle: every worker ends after `idleTimeout` unless
   * work comes. An idle Web Worker keeps the process alive, and Deno offers
   * no way to unref one; ending idle workers lets a program that forgot
   * close() exit. The timer is not cleared when work arrives: it checks when
   * it fires, which spares a pool of awaited calls a timer set and cleared
   * for each.
   */
  idle(): void {
    const timeout = this.#options.idleTimeout;
    if (this.#handles.length === 0 || !Number.isFinite(timeout)) return;
    this.#idleSince = performance.now();
    if (this.#idleTimer === undefined) this.#armIdleTimer(timeout);
  }

  /** Ends every worker now; later work starts new ones. */
  endAll(): void {
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#stopStarting();
    for (const handle of [...this.#handles]) this.remove(handle);
  }

  /** Ends every worker now, and starts none again. */
  close(): void {
    this.#closed = true;
    this.endAll();
  }

  #fill(active: number): void {
    if (this.#turn === undefined && active < this.#options.size) {
      // setImmediate, not setTimeout(0): a turn took about 10 µs against 2 ms,
      // and workers' messages are still handled between turns.
      this.#turn = setImmediate(this.#startNext);
    }
  }

  #startNext = (): void => {
    this.#turn = undefined;
    if (this.#closed || this.#active() >= this.#options.size) return;
    this.#start();
    this.fill();
    this.#options.events.started();
  };

  #active(): number {
    let active = 0;
    for (const handle of this.#handles) if (!handle.retiring) active++;
    return active;
  }

  /**
   * Starts a worker. The transport may refuse to (`permissions` that the
   * program does not hold, or of a shape Deno rejects), and would refuse
   * every other worker alike: the dispatcher hears of it, and this returns
   * `false`. It runs inside event callbacks, where an error that escaped
   * would end the program.
   */
  #start(): boolean {
    const id = this.#nextId++;
    const { transport, initializer, initArgs, events } = this.#options;
    // Assigned before the worker can send anything: its messages come on later turns.
    let handle: WorkerHandle | undefined;
    try {
      const link = transport.start({ id, initializer, initArgs }, {
        onMessage: (message) => events.message(handle as WorkerHandle, message),
        onFailure: (reason) => events.failure(handle as WorkerHandle, reason),
      });
      handle = new WorkerHandle(id, link);
    } catch (error) {
      events.refused(
        new WorkerInitError(
          `Cannot start worker ${id} as Deno refused to create it: ${describeCause(error)}`,
          { cause: error },
        ),
      );
      return false;
    }
    this.#handles.push(handle);
    return true;
  }

  #armIdleTimer(ms: number): void {
    // A delay longer than a timer holds would be cut to 1 ms, and the timer
    // would fire every millisecond, each time finding time left. Capped, it
    // fires early and sets itself again for what is left.
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      // Busy: the next idle moment sets it again.
      if (this.#options.events.busy()) return;
      const left = this.#idleSince + this.#options.idleTimeout - performance.now();
      if (left > 0) return this.#armIdleTimer(left);
      this.#stopStarting();
      for (const handle of [...this.#handles]) this.remove(handle);
    }, Math.min(ms, MAX_TIMER_MS));
  }

  #stopStarting(): void {
    if (this.#turn !== undefined) clearImmediate(this.#turn);
    this.#turn = undefined;
  }
}
