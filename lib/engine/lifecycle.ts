/**
 * `Lifecycle`: whether the pool takes calls, which calls are still live, and
 * when it ends. A pool is `"open"`; `close()` makes it `"closing"`, and once
 * its calls have finished it is `"closed"` and its workers end. A failure
 * that every fresh worker would repeat (an initializer that throws, a worker
 * Deno refuses to start) breaks it: every call, pending or later, rejects
 * with that error.
 *
 * @module
 */

import type { Call } from "./call.ts";
import type { Crew } from "./crew.ts";
import { PoolClosedError, type WorkerInitError } from "../errors.ts";

/** `"open"`, `"closing"` (no new calls, work finishing) or `"closed"`. */
export type State = "open" | "closing" | "closed";

/** The pool's state and its live calls. */
export class Lifecycle {
  #crew: Crew;
  #state: State = "open";
  #broken: WorkerInitError | null = null;
  #calls = new Set<Call>();
  #joined: Promise<void>;
  #resolveJoined!: () => void;

  constructor(crew: Crew) {
    this.#crew = crew;
    this.#joined = new Promise((resolve) => this.#resolveJoined = resolve);
  }

  /** See {@linkcode State}. */
  get state(): State {
    return this.#state;
  }

  /** The error every new call must reject with, or `null` when calls are welcome. */
  refusal(): Error | null {
    if (this.#broken !== null) return this.#broken;
    if (this.#state !== "open") return new PoolClosedError();
    return null;
  }

  /** Counts `call` among those the pool waits for, and those `terminate()` rejects. */
  track(call: Call): void {
    this.#calls.add(call);
  }

  /** The call has its outcome, or was aborted: the pool no longer waits for it. */
  forget(call: Call): void {
    this.#calls.delete(call);
  }

  /** Takes no new calls; `idle()` ends the pool once the calls made have finished. */
  close(): void {
    if (this.#state === "open") this.#state = "closing";
  }

  /** Every later call, and those pending when the pool terminates, reject with `error`. */
  breakWith(error: WorkerInitError): void {
    this.#broken = error;
  }

  /** Rejects every pending call, and ends every worker now and for good. */
  terminate(): void {
    this.#state = "closed";
    const calls = [...this.#calls];
    this.#calls.clear();
    for (const call of calls) {
      call.fail(this.#broken ?? new PoolClosedError("The pool was terminated"));
    }
    this.#shutdown();
  }

  /**
   * Nothing is queued and no worker holds anything. A closing pool ends here
   * once its calls have finished. A stream computes at most its window of
   * results ahead of its consumer, so the pool does not wait for a consumer:
   * once every call left is a stream that only its consumer can move on, the
   * workers end and `joined()` resolves, while the pool stays `"closing"`. A
   * stream read on after that starts workers again, and they end when it
   * next waits for its consumer or finishes. Otherwise the workers end after
   * `idleTimeout`, in an open pool as in a closing one whose calls wait on
   * their input.
   */
  idle(): void {
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
      // Still "closing": the streams left may be read on.
      this.#shutdown();
      return;
    }
    if (this.#state !== "closed") this.#crew.idle();
  }

  /** Resolves once the pool is closed and every worker has ended. */
  joined(): Promise<void> {
    return this.#joined;
  }

  #shutdown(): void {
    if (this.#state === "closed") this.#crew.close();
    else this.#crew.endAll();
    this.#resolveJoined();
  }
}
