/**
 * How the worker program talks to its pool: a `Channel` that posts messages,
 * hands over the ones that arrive, and ends the worker. The rest of the
 * program knows nothing else of where it runs, so a worker in another
 * process, talking over pipes, can run the same program with a channel of
 * its own.
 *
 * A piece of the worker program (see `program.ts`): it runs in the worker,
 * and may use no value imported at run time but the program's other pieces.
 *
 * @module
 */

import type { FromWorker, ToWorker } from "../_protocol.ts";

/** The worker's line to its pool. */
export interface Channel {
  /**
   * Sends `message` to the pool. Throws when it cannot be cloned.
   *
   * @param message What to send.
   * @param transfer Buffers handed over instead of copied.
   */
  post(message: FromWorker, transfer?: ArrayBuffer[]): void;
  /**
   * Calls `receive` with each message from the pool, in the order they were
   * sent.
   *
   * @param receive What handles a message.
   */
  listen(receive: (message: ToWorker) => void): void;
  /** Ends the worker at once. Made before a task could replace what it calls. */
  close(): void;
}

/** The parts of a Web Worker's global scope the channel uses. */
interface WorkerScope {
  close(): void;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
}

/**
 * The channel of a Web Worker: its global scope's message port.
 *
 * The port is the harness's own. A task that posts on it would hand the pool
 * messages it cannot read (a crash of the whole program, once), and one that
 * replaces `postMessage` would silence the worker: so tasks get a
 * `postMessage` that refuses, and the channel keeps the real one. It listens
 * with `addEventListener` for the same reason: a task that clears
 * `self.onmessage` cannot deafen it.
 *
 * @returns The channel; call it once, before any task runs.
 */
export function webWorkerChannel(): Channel {
  const scope = globalThis as unknown as WorkerScope;
  const realClose = scope.close.bind(scope);
  const realPost = scope.postMessage.bind(scope);
  scope.postMessage = () => {
    throw new TypeError(
      "Cannot post a message from a pool task as the worker's channel belongs to the pool: " +
        "a task hands back its result by returning it",
    );
  };
  return {
    post(message, transfer) {
      // An empty transfer list is not free: with one, a worker's first
      // postMessage took 2.5-3 ms instead of 0.2-0.4.
      if (transfer === undefined || transfer.length === 0) realPost(message);
      else realPost(message, transfer);
    },
    listen(receive) {
      scope.addEventListener("message", (event) => receive(event.data));
    },
    close: realClose,
  };
}
