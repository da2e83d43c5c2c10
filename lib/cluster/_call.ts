/**
 * One call of a cluster pool, on the caller's side: its chunks on the
 * stream, by chunk number, until each one's result has come back once.
 *
 * @module
 */

import type { FunctionSpec, SerializedError } from "../_protocol.ts";
import { describeCause, TaskError, WorkerCrashedError } from "../errors.ts";
import { reviveError } from "../_wire.ts";
import type { Recorder } from "../recorder.ts";
import {
  type ChunkMessage,
  type Crash,
  encode,
  type NodeRequest,
  type Outcome,
  type Plan,
} from "./_messages.ts";

/** What a call needs from its pool. */
export interface CallHost {
  /** The pool's inbox, where nodes ask and answer. */
  readonly inbox: string;
  /** Publishes a chunk (de-duplicated by its id); resolves with its stream sequence. */
  publish(id: string, bytes: Uint8Array): Promise<number>;
  /** Deletes a queued chunk by its sequence; never rejects. */
  forget(seq: number): void;
  /** Makes the call reachable from the inbox, under its id. */
  register(call: ClusterCall): void;
  /** Takes it away again. */
  unregister(call: ClusterCall): void;
  /** Remembers which chunk a stream sequence holds, or forgets it (`chunk` -1). */
  track(seq: number, call: ClusterCall, chunk: number): void;
  /** Tells the nodes to stop the call's running chunks. */
  cancel(call: string): void;
  /** Records each chunk's node and times, when the pool has a recorder. */
  readonly recorder: Recorder | undefined;
  /** Crashes after which an item fails with `WorkerCrashedError`. */
  readonly maxCrashes: number;
}

/** What a call runs. */
export interface CallSpec {
  readonly fn: FunctionSpec;
  readonly spread: boolean;
  readonly taskName: string;
}

/** A chunk on its way: where it starts in the call, and what has come back of it. */
interface Sent {
  readonly start: number;
  readonly size: number;
  /** The chunk's stream sequence once the server has stored it. */
  seq: number | undefined;
  /** 1 at each offset whose outcome the call has. */
  readonly done: Uint8Array;
  remaining: number;
  /** Crashes counted against each offset: its workers' deaths, and its nodes'. */
  readonly crashes: Map<number, number>;
  /** Whether a node was told to run it: a later delivery means that node died or hung. */
  started: boolean;
  /** The latest delivery a node asked about. */
  delivery: number;
}

/** Outcomes and crash counts from a node: a `progress` or a `result`. */
type Report = NodeRequest & { type: "progress" | "result" };

/**
 * A call's chunks in flight. Each item's outcome is taken once, the first
 * time it arrives: a chunk that ran twice (its node's lease lapsed) answers
 * twice, and the second answer finds the items done. A chunk delivered again
 * blames its first unfinished item for the death of the node before, as a
 * local pool blames the item its worker was running.
 */
export class ClusterCall {
  readonly id: string;
  #host: CallHost;
  #spec: CallSpec;
  #chunks = new Map<number, Sent>();
  #next = 0;
  #ended = false;
  #onOutcomes: (start: number, outcomes: Outcome[]) => void;
  #onError: (error: unknown) => void;

  constructor(
    host: CallHost,
    id: string,
    spec: CallSpec,
    handlers: {
      onOutcomes: (start: number, outcomes: Outcome[]) => void;
      onError: (error: unknown) => void;
    },
  ) {
    this.#host = host;
    this.id = id;
    this.#spec = spec;
    this.#onOutcomes = handlers.onOutcomes;
    this.#onError = handlers.onError;
    host.register(this);
  }

  /** Publishes `items` as the next chunk, the first of them item `start` of the call. */
  send(items: unknown[], start: number): void {
    const chunk = this.#next++;
    const message: ChunkMessage = {
      call: this.id,
      chunk,
      reply: this.#host.inbox,
      fn: this.#spec.fn,
      spread: this.#spec.spread,
      items,
      ...(this.#host.recorder === undefined ? {} : { record: true }),
    };
    let bytes: Uint8Array;
    try {
      bytes = encode(message);
    } catch (error) {
      this.#onError(
        new TypeError(
          `Cannot send items ${start} to ${start + items.length - 1} to the cluster: ${
            describeCause(error)
          }`,
          { cause: error },
        ),
      );
      return;
    }
    const size = items.length;
    const sent: Sent = {
      start,
      size,
      seq: undefined,
      done: new Uint8Array(size),
      remaining: size,
      crashes: new Map(),
      started: false,
      delivery: 0,
    };
    this.#chunks.set(chunk, sent);
    this.#host.publish(`${this.#host.inbox}.${this.id}.${chunk}`, bytes).then(
      (seq) => {
        // Ended while the publish was on its way: the chunk is no longer wanted.
        if (this.#ended || !this.#chunks.has(chunk)) {
          this.#host.forget(seq);
        } else {
          sent.seq = seq;
          this.#host.track(seq, this, chunk);
        }
      },
      (error) =>
        this.#onError(
          new Error(
            `Cannot send items ${start} to ${start + size - 1} to the cluster: ${
              describeCause(error)
            }`,
            { cause: error },
          ),
        ),
    );
  }

  /**
   * What a node that asks about `chunk` may run: `null` when nothing (the
   * call ended, or every item has its outcome). A node that has just pulled
   * a chunk a node was told to run before is its next delivery: the node
   * before died or hung, and the first unfinished item is blamed.
   */
  plan(chunk: number, first: boolean, delivery?: number): Plan | null {
    const sent = this.#chunks.get(chunk);
    if (this.#ended || sent === undefined) return null;
    if (first) {
      // Asked again about the same delivery: its answer was lost, no node died.
      const next = typeof delivery === "number" ? delivery : sent.delivery + 1;
      if (next > sent.delivery) {
        if (sent.started) this.#blame(chunk, sent);
        sent.delivery = next;
      }
      if (this.#ended || !this.#chunks.has(chunk)) return null;
      sent.started = true;
    }
    const todo: number[] = [];
    const crashes: Crash[] = [];
    for (let offset = 0; offset < sent.size; offset++) {
      if (sent.done[offset] === 1) continue;
      todo.push(offset);
      const count = sent.crashes.get(offset);
      if (count !== undefined) crashes.push([offset, count]);
    }
    return { todo, crashes, maxCrashes: this.#host.maxCrashes };
  }

  /** Takes what a node reports of a chunk: each outcome the first time it comes. */
  progress(report: Report): void {
    const sent = this.#chunks.get(report.chunk);
    if (this.#ended || sent === undefined) return;
    this.#countCrashes(sent, report.crashes);
    if (Array.isArray(report.outcomes)) this.#take(report.chunk, sent, report.outcomes);
  }

  /**
   * Takes a chunk's last report and records it; returns the offsets whose
   * outcome is still missing (none when the chunk is complete, or was before).
   */
  finish(report: Report & { type: "result" }): number[] {
    const sent = this.#chunks.get(report.chunk);
    if (this.#ended || sent === undefined) return [];
    this.progress(report);
    if (!this.#chunks.has(report.chunk)) {
      this.#record(sent, report);
      return [];
    }
    const missing: number[] = [];
    for (let offset = 0; offset < sent.size; offset++) {
      if (sent.done[offset] === 0) missing.push(offset);
    }
    return missing;
  }

  /**
   * The stream gave up on `chunk` after `deliveries` deliveries: each item
   * without an outcome fails as an item that killed its workers would.
   */
  lost(chunk: number, deliveries: number): void {
    const sent = this.#chunks.get(chunk);
    if (this.#ended || sent === undefined) return;
    const error = writeError(
      new Error(
        `the chunk was delivered ${deliveries} times and no node finished it (each died or stopped renewing its lease)`,
      ),
    );
    const outcomes: Outcome[] = [];
    for (let offset = 0; offset < sent.size; offset++) {
      if (sent.done[offset] === 0) {
        outcomes.push({ offset, ok: false, kind: "lost", error, workerId: 0 });
      }
    }
    this.#take(chunk, sent, outcomes);
  }

  /**
   * Ends the call: its queued chunks are deleted from the stream by
   * sequence, the nodes running its chunks are told to stop, its answers
   * ignored.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#host.unregister(this);
    let running = false;
    for (const sent of this.#chunks.values()) {
      running ||= sent.started;
      if (sent.seq === undefined) continue;
      this.#host.forget(sent.seq);
      this.#host.track(sent.seq, this, -1);
    }
    this.#chunks.clear();
    if (running) this.#host.cancel(this.id);
  }

  /** The error for a failed item, as a local pool would give it. */
  error(start: number, outcome: Outcome & { ok: false }): Error {
    let cause: unknown;
    try {
      cause = reviveError(outcome.error);
    } catch {
      cause = new Error("a node sent an error that cannot be read");
    }
    const index = start + outcome.offset;
    const name = this.#spec.taskName;
    const what = `Task ${index}${name ? ` (${name})` : ""}`;
    const detail = describeCause(cause);
    const workerId = outcome.workerId;
    if (outcome.kind === "crash" || outcome.kind === "lost") {
      const how = outcome.kind === "crash"
        ? `killed its workers on the cluster (${detail})`
        : `was given up: ${detail}`;
      return new WorkerCrashedError(`${what} ${how}`, { workerId, index, cause });
    }
    const message = outcome.kind === "refused"
      ? `${what} was refused by a node: ${detail}`
      : cause instanceof ReferenceError
      ? `${what} failed: ${detail} (a function run in a worker must be self-contained: ` +
        `it may use its parameters and globals, not variables of the scope it was written in)`
      : `${what} failed: ${detail}`;
    return new TaskError(message, { cause, index, workerId, taskName: name });
  }

  /**
   * The node that held the chunk before died or stopped renewing its lease:
   * its first unfinished item counts one crash, and fails once it has
   * `maxCrashes`.
   */
  #blame(chunk: number, sent: Sent): void {
    const offset = sent.done.indexOf(0);
    if (offset < 0) return;
    const crashes = (sent.crashes.get(offset) ?? 0) + 1;
    sent.crashes.set(offset, crashes);
    if (crashes < this.#host.maxCrashes) return;
    const error = writeError(
      new Error(
        `the node running it died or stopped renewing its lease; it was tried ${crashes} times`,
      ),
    );
    this.#take(chunk, sent, [{ offset, ok: false, kind: "lost", error, workerId: 0 }]);
  }

  #countCrashes(sent: Sent, crashes: readonly Crash[]): void {
    if (!Array.isArray(crashes)) return;
    for (const crash of crashes) {
      if (!Array.isArray(crash)) continue;
      const [offset, count] = crash;
      if (count > (sent.crashes.get(offset) ?? 0)) sent.crashes.set(offset, count);
    }
  }

  /**
   * Hands the call the outcomes it has not had yet, each item's the first
   * time it comes (a run that is partly known is cut to its new parts); the
   * chunk is done once every item has one.
   */
  #take(chunk: number, sent: Sent, outcomes: readonly Outcome[]): void {
    const fresh: Outcome[] = [];
    for (const outcome of outcomes) {
      if (typeof outcome !== "object" || outcome === null) continue;
      const offset = outcome.offset;
      if (!Number.isInteger(offset) || offset < 0) continue;
      if (outcome.ok === false) {
        if (offset >= sent.size || sent.done[offset] === 1 || !isFailure(outcome)) continue;
        sent.done[offset] = 1;
        sent.remaining--;
        fresh.push(outcome);
      } else if (outcome.ok === true) {
        this.#takeRun(sent, outcome, fresh);
      }
    }
    if (sent.remaining === 0) {
      this.#chunks.delete(chunk);
      if (sent.seq !== undefined) this.#host.track(sent.seq, this, -1);
    }
    if (fresh.length > 0) this.#onOutcomes(sent.start, fresh);
  }

  /** Adds to `fresh` the parts of a run of values whose items had no outcome yet. */
  #takeRun(sent: Sent, run: Outcome & { ok: true }, fresh: Outcome[]): void {
    const { offset, values } = run;
    const length = values?.length;
    if (!Number.isInteger(length) || offset + length > sent.size) return;
    let from = -1;
    for (let i = 0; i <= length; i++) {
      const mine = i < length && sent.done[offset + i] === 0;
      if (mine) {
        sent.done[offset + i] = 1;
        sent.remaining--;
        if (from < 0) from = i;
      } else if (from >= 0) {
        fresh.push(
          from === 0 && i === length ? run : {
            offset: offset + from,
            ok: true,
            values: Array.prototype.slice.call(values, from, i),
          },
        );
        from = -1;
      }
    }
  }

  /**
   * Records, when the pool has a recorder, which worker of which node ran
   * which items of the chunk and when (on the node's clock); the chunk as a
   * whole, on a row of its node, where the node did not say.
   */
  #record(sent: Sent, report: Report & { type: "result" }): void {
    const recorder = this.#host.recorder;
    if (recorder === undefined) return;
    const { start, size } = sent;
    const label = (from: number, to: number) => from === to ? `${from}` : `${from}..${to}`;
    try {
      const stretches = Array.isArray(report.stretches) ? report.stretches : [];
      for (const [worker, from, to, first, last] of stretches) {
        recorder.record(
          `node ${report.node} ${worker}`,
          from,
          to,
          label(start + first, start + last),
        );
      }
      if (stretches.length === 0) {
        recorder.record(
          `node ${report.node}`,
          report.start,
          report.end,
          label(start, start + size - 1),
        );
      }
    } catch (error) {
      this.#onError(error);
    }
  }
}

/** Whether a failure outcome has what the call reads of it: a known kind and an error. */
function isFailure(outcome: Outcome & { ok: false }): boolean {
  return ["task", "crash", "refused", "lost"].includes(outcome.kind) &&
    typeof outcome.error === "object" && outcome.error !== null &&
    typeof outcome.error.message === "string" &&
    (outcome.error.thrown !== undefined ||
      (typeof outcome.error.props === "object" && outcome.error.props !== null));
}

/** An error made here, as a node would send it. */
function writeError(error: Error): SerializedError {
  return {
    type: "Error",
    name: "Error",
    message: error.message,
    stack: error.stack,
    props: {},
  };
}
