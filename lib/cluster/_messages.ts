/**
 * What travels between a cluster pool and its nodes, both ways, and how it
 * is encoded: V8's serializer, the structured clone that `postMessage`
 * uses, so items and results cross as they do to a local worker.
 *
 * @module
 */

import { deserialize, serialize } from "node:v8";
import type { FunctionSpec, SerializedError } from "../_protocol.ts";

/** The stream, subject and consumer a pool and its nodes share unless told otherwise. */
export const DEFAULTS = {
  stream: "POOL_CHUNKS",
  consumer: "nodes",
  /** ms a node holds a chunk without renewing its lease before it goes to another node. */
  leaseMs: 10_000,
  /**
   * Deliveries of one chunk before the stream gives up on it: a backstop,
   * as the caller fails an item that killed `maxCrashes` nodes or workers
   * first, and a chunk may lose several nodes on different items.
   */
  maxDeliver: 10,
  /** Crashes (its worker's or its node's death) after which an item fails. */
  maxCrashes: 3,
} as const;

/** Where the server says it gave up on a chunk of the nodes' consumer (JSON with `stream_seq`). */
export function maxDeliveriesSubject(stream: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${DEFAULTS.consumer}`;
}

/** The subject chunks are published on, for a stream name. */
export function chunkSubject(stream: string): string {
  return `${stream.toLowerCase()}.chunks`;
}

/** One chunk of a call: a message on the work-queue stream. */
export interface ChunkMessage {
  /** The call's id, unique to the calling pool's inbox. */
  readonly call: string;
  /** The chunk's number within its call. */
  readonly chunk: number;
  /** Where the node sends its questions and the result: the caller's inbox. */
  readonly reply: string;
  /** The function, by source or by module and export. */
  readonly fn: FunctionSpec;
  /** Each item is an argument list: `fn(...item)`. */
  readonly spread: boolean;
  readonly items: unknown[];
  /** Whether the caller records a timeline: the node then says which worker ran what, and when. */
  readonly record?: boolean;
}

/**
 * A stretch of a chunk one worker of a node ran: `[worker, start, end,
 * first offset, last offset]`, times in ms since the epoch on the node's
 * clock; the worker `w3` (thread 3) or `p4242` (process 4242).
 */
export type Stretch = readonly [string, number, number, number, number];

/**
 * What a node sends the caller on `reply`. `wanted` and `result` are
 * requests the caller answers; `progress` is a plain message.
 */
export type NodeRequest =
  /**
   * May the node run the chunk, and which of its items? Answered with
   * {@linkcode UNWANTED}, or a {@linkcode Plan}. `first` is `true` when the
   * node has just pulled the chunk, `false` when it asks again while running
   * it (the call may have ended, or its caller gone).
   */
  | {
    readonly type: "wanted";
    readonly call: string;
    readonly chunk: number;
    readonly first: boolean;
    /**
     * The stream's count of deliveries of the chunk, this one included: a
     * question asked again about the same delivery (its answer was lost)
     * is not a new delivery.
     */
    readonly delivery?: number;
  }
  /**
   * Outcomes of items the node finished while the rest of the chunk runs,
   * and the crashes of its local workers so far: so that if the node dies,
   * finished items are not run again and crashes are not forgotten.
   */
  | {
    readonly type: "progress";
    readonly call: string;
    readonly chunk: number;
    readonly outcomes: Outcome[];
    readonly crashes: Crash[];
  }
  /**
   * The chunk is done: the outcomes not sent as progress, and the node's
   * record. Answered with an empty message once the caller has every
   * item's outcome, or with the offsets it still lacks (a progress message
   * lost on the way), which the node sends again.
   */
  | {
    readonly type: "result";
    readonly call: string;
    readonly chunk: number;
    readonly outcomes: Outcome[];
    readonly crashes: Crash[];
    /** The node's name, and when it started and ended the chunk (ms since the epoch, its clock). */
    readonly node: string;
    readonly start: number;
    readonly end: number;
    /** Which worker ran which items, when the chunk asked for a record. */
    readonly stretches?: Stretch[];
  };

/** An item's local worker crashes so far: `[offset, count]`. */
export type Crash = readonly [number, number];

/** The caller's answer to a `wanted`: what is left of the chunk to run. */
export interface Plan {
  /** Offsets of the items to run, in order: those without an outcome yet. */
  readonly todo: number[];
  /** Crashes counted so far against items of `todo` (by workers or nodes). */
  readonly crashes: Crash[];
  /** Crashes after which an item fails with `WorkerCrashedError`. */
  readonly maxCrashes: number;
}

/**
 * Outcomes of a chunk's items: values of consecutive items that returned
 * (a run, numbers as a `Float64Array`, which V8's serializer copies whole),
 * or one item's failure.
 */
export type Outcome =
  | {
    readonly offset: number;
    readonly ok: true;
    /** Values of the items from `offset` on. */
    readonly values: ArrayLike<unknown>;
  }
  | {
    readonly offset: number;
    readonly ok: false;
    /**
     * `"task"`: the task threw; `"crash"`: it killed its workers
     * `maxCrashes` times; `"refused"`: the node would not run it; `"lost"`:
     * the stream gave up on the chunk after `max_deliver` deliveries.
     */
    readonly kind: "task" | "crash" | "refused" | "lost";
    readonly error: SerializedError;
    readonly workerId: number;
  };

/** The answer to a `wanted` when the chunk is no longer wanted: not a serialized value. */
export const UNWANTED: Uint8Array = new Uint8Array([0]);

/** The answer to a `result` when the caller lacks some outcomes (else an empty message). */
export interface Missing {
  /** Offsets of the items whose outcome has not reached the caller. */
  readonly missing: number[];
}

/** The message that asks the nodes to stop a call's running chunks. */
export interface Cancel {
  readonly reply: string;
  readonly call: string;
}

/** Where a pool tells the nodes to stop a call: plain NATS, outside the stream. */
export function cancelSubject(stream: string): string {
  return `${stream.toLowerCase()}.cancel`;
}

/** Where the nodes answer who they are: plain NATS, outside the stream. */
export function nodesSubject(stream: string): string {
  return `${stream.toLowerCase()}.nodes`;
}

/** What a node says of itself, asked on {@linkcode nodesSubject}. */
export interface NodeInfo {
  /** Its name in timelines (`--name`, or its process id). */
  readonly name: string;
  /** Its local workers: the chunks it runs at once. */
  readonly workers: number;
  /** Chunks it holds now. */
  readonly busy: number;
  /** Its workers: threads or processes. */
  readonly isolation: "thread" | "process";
  /** The Deno that runs it. */
  readonly deno: string;
}

/** Everything that travels encoded. */
export type Message = ChunkMessage | NodeRequest | Plan | Missing | Cancel | NodeInfo;

/** A message's bytes. Throws what `structuredClone` would for a value that cannot be sent. */
export function encode(message: Message): Uint8Array {
  return serialize(message);
}

/** A message from its bytes; throws on bytes that are not one. */
export function decode<M extends Message>(bytes: Uint8Array): M {
  return deserialize(bytes) as M;
}
