/**
 * The messages that cross the boundary between the pool and its workers, and
 * the constants both sides read.
 *
 * The worker program is shipped to the worker as source text and can import
 * nothing at run time. So the message tags are string literals that both
 * sides spell the same way, and the constants below are plain data that
 * `worker/program.ts` writes into the program under the same names: the
 * pieces of the worker program import them here, for the type checker, and
 * find them declared at the top of the program when it runs.
 *
 * @module
 */

/**
 * A claim slot's value once the pool has taken its chunk back (see
 * `RunChunk`): the worker skips the chunk.
 */
export const CLAIM_TAKEN_BACK = 0;
/** A claim slot's value while the worker runs its chunk: too late to take it back. */
export const CLAIM_RUNNING: number = -1;
/** A claim slot's value once the chunk is done: its results are on their way. */
export const CLAIM_DONE: number = -2;

/** Below this many numbers a plain array is cheaper to send than a packed one, either way. */
export const PACK_MIN = 8;

/**
 * The result board (see {@linkcode ResultBoardMemory}): its header's
 * fields, by index, and the sizes of its two arrays. A value's tag says
 * what it is; a string's payload is `offset * BOARD_STRING_SPAN + length`
 * in the character array.
 */
export const BOARD = {
  GENERATION: 0,
  ENTRIES: 1,
  MIN_AGE_MS: 2,
  SLOTS: 4096,
  CHARS: 16384,
  STRING_SPAN: 2048,
  /** Longer strings do not go on the board: their results are sent. */
  STRING_MAX: 256,
  /** Plain data (objects and arrays) goes there as JSON text up to this long, of this many values. */
  JSON_MAX: 1024,
  JSON_VALUES: 64,
  /**
   * Objects a worker copies for the board before one chunk, at most: a
   * copy costs it a microsecond or two, and a batch of many is sent instead.
   */
  OBJECTS_MAX: 32,
  TAG_NUMBER: 0,
  TAG_UNDEFINED: 1,
  TAG_NULL: 2,
  TAG_TRUE: 3,
  TAG_FALSE: 4,
  TAG_STRING: 5,
  TAG_HOLE: 6,
  TAG_JSON: 7,
} as const;

/**
 * The built-in error classes an error travels as (see `SerializedError.type`),
 * by the name the global object holds them under; `WebAssembly`'s travel as
 * `"WebAssembly.<name>"` and every class of `Deno.errors` as
 * `"Deno.errors.<name>"`. Any other error travels as `"Error"`.
 */
export const ERROR_TYPES: {
  /** Classes the global object holds. */
  readonly global: readonly string[];
  /** Classes `WebAssembly` holds. */
  readonly webAssembly: readonly string[];
} = {
  global: [
    "AggregateError",
    "EvalError",
    "RangeError",
    "ReferenceError",
    "SyntaxError",
    "TypeError",
    "URIError",
    "SuppressedError",
    "DOMException",
    "QuotaExceededError",
  ],
  webAssembly: ["CompileError", "LinkError", "RuntimeError"],
};

/** How a worker finds the function it runs. */
export type FunctionSpec =
  | { readonly kind: "source"; readonly source: string; readonly name: string }
  | { readonly kind: "module"; readonly url: string; readonly exportName: string };

/**
 * Items of one chunk: a plain array, or numbers packed in a typed array
 * (integers in an `Int32Array`, see `pack` in `_wire.ts`). A worker answers
 * with a plain array or a `Float64Array`.
 */
export type ChunkItems = unknown[] | Float64Array | Int32Array;

/**
 * One chunk of work, consecutive items of one call run by one function, as a
 * tuple: `[id, slot, tag, fnId, spread, settle, items]`.
 *
 * The messages sent for every chunk are tuples, not objects: a structured
 * clone writes out, and reads back, every key of every object. With tuples an
 * awaited call took 6-17% less time and 100,000 queued tasks 13-18% less, in
 * A/B runs in one process (see the README's Performance section). The rarer
 * messages stay objects.
 *
 * A worker may hold chunks it has not started yet, and the pool may take
 * those back (to give them to a worker that has gone idle, or because their
 * call was aborted). Each chunk sent has a slot in the worker's shared claim
 * buffer holding its `tag`. Before it starts a chunk the worker swaps the tag
 * for `CLAIM_RUNNING`, and stores `CLAIM_DONE` once it is done; the pool takes
 * a chunk back by swapping the tag for `CLAIM_TAKEN_BACK`. Whichever swap
 * comes first wins, so a chunk runs once, and one taken back is skipped
 * without a word.
 */
export type RunChunk = readonly [
  /** Pool-wide chunk id, echoed back with the results. */
  id: number,
  /** Index of the chunk's slot in the worker's claim buffer. */
  slot: number,
  /** What the slot holds until the chunk is started or taken back: never 0 or negative. */
  tag: number,
  /** Id of a function the worker was given with a `define` message. */
  fnId: number,
  /** `true` calls `fn(...item)` (starmap, apply); `false` calls `fn(item)`. */
  spread: boolean,
  /** `true` runs every item and reports each error; `false` stops at the first. */
  settle: boolean,
  items: ChunkItems,
];

/** Main thread → worker. */
export type ToWorker =
  | {
    readonly type: "init";
    readonly workerId: number;
    /** Int32Array view of a shared stop flag: non-zero asks the worker to stop early. */
    readonly stop: Int32Array;
    /**
     * The claim buffer: one slot per chunk sent and not yet answered (see
     * `RunChunk`). The pool always sends one; a worker started by hand without
     * it runs every chunk it is sent.
     */
    readonly claims?: Int32Array;
    /**
     * What lets the worker, when idle, wait for the next message awake for a
     * moment instead of sleeping (see `worker/stay_awake.ts`). A worker
     * started by hand without it sleeps as soon as it is idle.
     */
    readonly awake?: StayAwake;
    /**
     * A count of the worker's result messages the pool has handled. While it
     * equals the count the worker has posted, the pool is not behind, and
     * the worker sends results as soon as a chunk is done (see
     * `worker/results.ts`). A worker started by hand without it answers once
     * per batch.
     */
    readonly read?: Int32Array;
    /**
     * Where the worker puts the results it holds before it starts its next
     * chunk, for the pool to take should that chunk run long (see
     * `worker/board.ts`). A worker started without it sends what it holds
     * before each chunk.
     */
    readonly board?: ResultBoardMemory;
    readonly initializer: FunctionSpec | null;
    readonly initArgs: readonly unknown[];
  }
  | { readonly type: "define"; readonly fnId: number; readonly spec: FunctionSpec }
  /** A batch of chunks to run, in order: the only message that is an array. */
  | RunChunk[];

/**
 * The shared memory behind `init`'s `board`: results the worker holds,
 * written there in order, each `[id, start, end, n]` then a `[tag,
 * payload]` pair per value, in `slots`; strings' characters in `chars`.
 * `header[BOARD.ENTRIES]` counts the results written; the worker empties the
 * board by first adding one to `header[BOARD.GENERATION]`, so a reader that
 * sees the generation change while it reads drops what it read.
 */
export interface ResultBoardMemory {
  readonly header: Int32Array;
  /**
   * When the first result on the board was done, in ms since the epoch (a
   * clock all threads share): the pool leaves results younger than
   * `BOARD.MIN_AGE_MS` to the message that is about to bring them.
   */
  readonly since: Float64Array;
  readonly slots: Float64Array;
  readonly chars: Uint16Array;
}

/** The shared memory behind `init`'s `awake`. */
export interface StayAwake {
  /**
   * A count of the messages the pool has posted to this worker. While it
   * equals the count the worker has received, none is on its way.
   */
  readonly posted: Int32Array;
  /** The pool's `CpuBoard`: a slot per worker, 1 while it is on a CPU. */
  readonly board: Int32Array;
  /** The board's count of messages posted to any of the pool's workers. */
  readonly boardPosts: Int32Array;
  /** This worker's slot on the board; -1 for none, and then it never waits awake. */
  readonly slot: number;
}

/**
 * An error as it travels: everything needed to rebuild it faithfully.
 *
 * The worker writes one for any thrown value, however odd (a getter that
 * throws, a Proxy, an object that can be neither cloned nor turned into a
 * string): every field is plain data that a message can carry.
 */
export interface SerializedError {
  /**
   * The nearest built-in class in the error's prototype chain, which the pool
   * rebuilds it as: `"TypeError"`, `"AggregateError"`, `"DOMException"`,
   * `"Deno.errors.NotFound"`, `"WebAssembly.RuntimeError"`; `"Error"` for
   * any other. Apart from `name`, as an error may be renamed.
   */
  readonly type: string;
  /** Its `name`, as a string. */
  readonly name: string;
  /** Its `message`, as a string; empty when it could not be read. */
  readonly message: string;
  /** Its `stack`, as a string: the worker's. */
  readonly stack: string | undefined;
  /** The error's own `cause`, serialized the same way. */
  readonly cause?: SerializedValue;
  /** An `AggregateError`'s `errors`, each serialized the same way. */
  readonly errors?: readonly SerializedValue[];
  /** A `SuppressedError`'s `error` and `suppressed`. */
  readonly suppressed?: { readonly error: SerializedValue; readonly suppressed: SerializedValue };
  /** A `QuotaExceededError`'s `quota` and `requested`, which it keeps inside, not as properties. */
  readonly quota?: { readonly quota: number | null; readonly requested: number | null };
  /** Own enumerable properties (for example `code`) that could be cloned. */
  readonly props: Record<string, unknown>;
  /** `true` when a non-Error value was thrown; `value` then holds it. */
  readonly thrown?: { readonly value: unknown };
}

/**
 * A value that travels next to an error (its `cause`, an `AggregateError`'s
 * errors): an error serialized, or any other value as a clone, or as a
 * string where it cannot be cloned.
 */
export type SerializedValue = SerializedError | { readonly value: unknown };

/** An item of a chunk that failed, by its index inside the chunk. */
export interface ItemError {
  /** The item's index inside its chunk. */
  readonly index: number;
  /** What it threw, or why its result could not be sent. */
  readonly error: SerializedError;
  /** `true` when the item ran but its result could not be sent back. */
  readonly unsendable?: boolean;
}

/**
 * What a worker reports for one finished chunk, as a tuple (see `RunChunk`):
 * `[id, values, errors, start, end]`.
 */
export type ChunkResult = readonly [
  id: number,
  /** Results by index inside the chunk; holes stay holes. */
  values: ChunkItems,
  errors: readonly ItemError[] | null,
  /** Start of the chunk, in ms since the epoch (`timeOrigin + now()`, a clock all threads share). */
  start: number,
  /** End of the chunk, on the same clock. */
  end: number,
];

/** Worker → main thread. */
export type FromWorker =
  /** Results of a batch's chunks, in order: the only message that is an array. */
  | ChunkResult[]
  | { readonly type: "init-failed"; readonly error: SerializedError }
  | {
    /**
     * The worker is about to die: it called `close()` or `Deno.exit()`, or an
     * error escaped every handler. Sent as its last message.
     */
    readonly type: "dying";
    readonly how: "close" | "exit" | "uncaught";
    readonly error: SerializedError | null;
    /** Results finished before death, the interrupted chunk's partial result first. */
    readonly results: readonly ChunkResult[];
    /** Id of the chunk that was running, and the item it was on. */
    readonly chunkId: number | null;
    readonly index: number;
    /**
     * When no chunk was running, what the worker was loading: `"init"`, its
     * initializer; a number, the function with that id (importing its
     * module, or compiling its source); `null`, nothing (it was between chunks).
     */
    readonly loading: "init" | number | null;
  };
