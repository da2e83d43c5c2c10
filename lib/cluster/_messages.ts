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
  /** Deliveries of one chunk before the stream gives up on it (nodes that died holding it). */
  maxDeliver: 5,
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
}

/** What a node asks the caller on `reply`, and the caller answers. */
export type NodeRequest =
  /** Is the chunk still wanted? Answered with {@linkcode WANTED} or {@linkcode UNWANTED}. */
  | { readonly type: "wanted"; readonly call: string; readonly chunk: number }
  /** The chunk's outcome. Answered with an empty message once recorded (or known). */
  | {
    readonly type: "result";
    readonly call: string;
    readonly chunk: number;
    readonly outcomes: Outcome[];
    /** The node's name, and when it started and ended the chunk (ms since the epoch, its clock). */
    readonly node: string;
    readonly start: number;
    readonly end: number;
  };

/**
 * One item's outcome. A chunk whose items are argument lists fails as a
 * whole on its first failure, so its outcomes are either every value or
 * that one failure.
 */
export type Outcome =
  | { readonly offset: number; readonly ok: true; readonly value: unknown }
  | {
    readonly offset: number;
    readonly ok: false;
    /**
     * `"task"`: the task threw; `"crash"`: it killed its workers; `"refused"`:
     * the node would not run it; `"lost"`: the stream gave up on the chunk
     * after `max_deliver` deliveries, every node that took it having died.
     */
    readonly kind: "task" | "crash" | "refused" | "lost";
    readonly error: SerializedError;
    readonly workerId: number;
  };

export const WANTED: Uint8Array = new Uint8Array([1]);
export const UNWANTED: Uint8Array = new Uint8Array([0]);

/** A message's bytes. Throws what `structuredClone` would for a value that cannot be sent. */
export function encode(message: ChunkMessage | NodeRequest): Uint8Array {
  return serialize(message);
}

/** A message from its bytes; throws on bytes that are not one. */
export function decode<M extends ChunkMessage | NodeRequest>(bytes: Uint8Array): M {
  return deserialize(bytes) as M;
}
