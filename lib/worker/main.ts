/**
 * The program every pool worker runs.
 *
 * {@linkcode workerMain} is shipped to each worker as source text, as task
 * functions are, inside a `blob:` URL. Loading a worker from a file would
 * need `--allow-read`; a worker made from source needs no permission at all.
 * The price is the same rule tasks follow: the function is self-contained and
 * imports nothing at run time (only types, which vanish when it is compiled).
 *
 * @module
 */

import type {
  ChunkItems,
  ChunkResult,
  FromWorker,
  FunctionSpec,
  ItemError,
  RunChunk,
  SerializedError,
  SerializedValue,
  StayAwake,
  ToWorker,
} from "../_protocol.ts";

/**
 * Runs inside a worker: answers the pool's messages until the worker ends.
 *
 * Chunks run one at a time, in the order they arrive; a batch's results go
 * back in one message. A task may return a promise, which is awaited before
 * the next item starts.
 *
 * Idle, a worker may wait for the next message awake, spinning, for up to
 * half a millisecond, instead of sleeping: on a virtual machine, waking a
 * sleeping thread can cost more than the rest of a round trip. It does so
 * only once the promise callbacks already queued have run, only
 * when its last wait was that short with no work sent to another worker
 * meanwhile, only while the pool's `CpuBoard` shows a CPU free besides the
 * main thread's, and ever more rarely while its waits catch nothing.
 *
 * @example Start a worker by hand and run one chunk
 * ```ts
 * import { workerMain } from "./main.ts";
 * import assert from "node:assert/strict";
 *
 * const url = "data:application/javascript," +
 *   encodeURIComponent(`(${workerMain.toString()})();`);
 * const worker = new Worker(url, { type: "module" });
 * const reply = new Promise<MessageEvent>((resolve) => worker.onmessage = resolve);
 * worker.postMessage({
 *   type: "init", workerId: 1, stop: new Int32Array(new SharedArrayBuffer(4)),
 *   initializer: null, initArgs: [],
 * });
 * worker.postMessage({ type: "define", fnId: 1, spec: { kind: "source", source: "(n) => n + 1" } });
 * // A batch of one chunk: [id, slot, tag, fnId, spread, settle, items].
 * worker.postMessage([[7, 0, 1, 1, false, false, [1, 2]]]);
 * const { data } = await reply;
 * worker.terminate();
 * // Its results: [id, values, errors, start, end].
 * const [[id, values]] = data;
 * assert.equal(id, 7);
 * assert.deepEqual(values, [2, 3]);
 * ```
 */
export function workerMain(): void {
  type Fn = (...args: unknown[]) => unknown;
  interface Scope {
    close(): void;
    postMessage(message: FromWorker, transfer?: Transferable[]): void;
    addEventListener(type: "message", listener: (event: MessageEvent<ToWorker>) => void): void;
    addEventListener(
      type: "error" | "unhandledrejection",
      listener: (event: Event & { error?: unknown; reason?: unknown }) => void,
    ): void;
  }
  interface Running {
    readonly id: number;
    readonly fn: Fn | null;
    readonly failure: unknown;
    readonly items: ChunkItems;
    readonly spread: boolean;
    readonly settle: boolean;
    /** Results, unless they are still going into `numbers`. */
    values: unknown[];
    /**
     * Results of a chunk of packed numbers, while every one so far is a
     * number: they go back as they are, with no pass to pack them.
     */
    numbers: Float64Array | null;
    errors: ItemError[] | null;
    readonly start: number;
    index: number;
  }

  const scope = globalThis as unknown as Scope;
  const denoNs = Deno as unknown as { exit(code?: number): never };
  const realClose = scope.close.bind(scope);
  // The worker's channel to the pool is the harness's own. A task that posts
  // on it would hand the pool messages it cannot read (a crash of the whole
  // program, once), and one that replaces postMessage would silence the
  // worker: tasks get a postMessage that refuses, and the harness keeps the
  // real one. It listens with addEventListener for the same reason: a task
  // that clears self.onmessage cannot deafen it.
  const realPost = scope.postMessage.bind(scope);
  scope.postMessage = () => {
    throw new TypeError(
      "Cannot post a message from a pool task as the worker's channel belongs to the pool: " +
        "a task hands back its result by returning it",
    );
  };
  const origin = performance.timeOrigin;
  /** Packing pays off only above a few items; below it the array is cheaper. */
  const PACK_MIN = 8;
  /** The longest an idle worker waits awake for the next message, in ms. */
  const AWAKE_MS = 0.5;
  /** The longest a batch's finished results wait for the rest of it, in ms, while the pool is behind. */
  const HOLD_MS = 1;
  /** CPUs the pool's workers may hold at once: one is left for the main thread. */
  const workerCpus = navigator.hardwareConcurrency - 1;

  const fns = new Map<number, { fn: Fn | null; failure: unknown }>();
  const inbox: (ToWorker | undefined)[] = [];
  let head = 0;
  let pumping = false;
  let stopFlag: Int32Array | null = null;
  /** Claim slots shared with the pool (see `RunChunk`); `null` when started by hand without. */
  let claims: Int32Array | null = null;
  let awake: StayAwake | null = null;
  /** Messages received, to compare with the count the pool posted. */
  let received = 0;
  /** When the worker last ran out of messages, by `performance.now()`. */
  let idleSince = -Infinity;
  /** The pool's count of messages posted to any worker, and its own, when it ran out. */
  let idleBoardPosts = 0;
  let idlePosted = 0;
  /**
   * Whether its last wait for a message was one that waiting awake would
   * have caught and that cost no other thread a CPU: short, and with no
   * message to any other worker meanwhile (the pool then had work for them
   * and the main thread was busy, as when many small tasks stream through).
   */
  let quickReturn = false;
  /** Waits awake in a row that ended with no message for this worker. */
  let misses = 0;
  /** Idle spells to sleep through before waiting awake again: 2^misses - 1. */
  let skips = 0;
  let awakeQueued = false;
  let dying = false;
  let running: Running | null = null;
  /** Results of a batch's chunks, held to go back together (see `runBatch`). */
  /**
   * What the worker is loading while no chunk runs: `"init"` while its
   * initializer runs, or the id of a function whose module it imports or
   * whose source it compiles. If the worker dies then, this says whose fault
   * it was (see `FromWorker`).
   */
  let loading: "init" | number | null = null;
  let batchOut: ChunkResult[] = [];
  /** When the first of `batchOut` was done, by `performance.now()`. */
  let heldSince = 0;
  /** The pool's count of this worker's result messages it has handled (see `init`). */
  let handled: Int32Array | null = null;
  /** Result messages posted. */
  let resultsPosted = 0;

  /** Cause chains and nested errors deeper than this are cut off: one may loop back on itself. */
  const MAX_DEPTH = 16;
  /**
   * The built-in error classes, by prototype, under the names the pool
   * rebuilds them by (see `SerializedError.type`; `errors.ts` spells them the
   * same way). Taken when the worker starts, before any task could change them.
   */
  const errorTypes = new Map<unknown, string>();
  function addErrorTypes(prefix: string, holder: object, names: readonly string[]): void {
    for (const name of names) {
      const ctor = (holder as Record<string, unknown>)[name];
      if (typeof ctor === "function") errorTypes.set(ctor.prototype, prefix + name);
    }
  }
  addErrorTypes("", globalThis, [
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
  ]);
  addErrorTypes("WebAssembly.", WebAssembly, ["CompileError", "LinkError", "RuntimeError"]);
  addErrorTypes("Deno.errors.", Deno.errors, Object.keys(Deno.errors));

  /** `object[key]`, or `null` when reading it throws (a getter, a Proxy's trap). */
  function read(object: unknown, key: PropertyKey): { value: unknown } | null {
    try {
      return { value: (object as Record<PropertyKey, unknown>)[key] };
    } catch {
      return null;
    }
  }

  /** A copy of `value` that a message can carry, or `null` when it cannot be cloned. */
  function clone(value: unknown): { value: unknown } | null {
    try {
      return { value: structuredClone(value) };
    } catch {
      return null;
    }
  }

  /** `String(value)`; when that throws, the best description that does not. */
  function text(value: unknown): string {
    try {
      return String(value);
    } catch {
      // Its toString threw, or it has none (Object.create(null)).
    }
    try {
      return Object.prototype.toString.call(value);
    } catch {
      // A Proxy whose traps throw, or one that was revoked.
    }
    return `[${typeof value} that cannot be read]`;
  }

  /** A copy of an array's items, or `null` when it is not one or cannot be read (a Proxy). */
  function arrayItems(value: unknown): unknown[] | null {
    try {
      return Array.isArray(value) ? Array.from(value) : null;
    } catch {
      return null;
    }
  }

  function isError(value: unknown): value is Error {
    try {
      return value instanceof Error;
    } catch {
      // A Proxy whose getPrototypeOf trap throws: not an error as far as anyone can tell.
      return false;
    }
  }

  /** The nearest built-in class in the error's prototype chain (see `SerializedError.type`). */
  function errorType(error: Error): string {
    try {
      for (
        let proto = Object.getPrototypeOf(error);
        proto !== null;
        proto = Object.getPrototypeOf(proto)
      ) {
        const type = errorTypes.get(proto);
        if (type !== undefined) return type;
      }
    } catch {
      // A Proxy's getPrototypeOf trap threw part of the way up.
    }
    return "Error";
  }

  /** A value that travels next to an error, serialized; `undefined` past `MAX_DEPTH`. */
  function serializeValue(value: unknown, depth: number): SerializedValue | undefined {
    if (depth > MAX_DEPTH) return undefined;
    if (isError(value)) return serialize(value, depth);
    const copy = clone(value);
    return { value: copy === null ? text(value) : copy.value };
  }

  /**
   * Writes down a thrown value so that the pool can rebuild it. Never
   * throws, whatever was thrown: every read is guarded, and what goes into
   * the result is a clone, so sending it cannot fail either.
   */
  function serialize(error: unknown, depth = 0): SerializedError {
    if (!isError(error)) {
      const message = text(error);
      const copy = clone(error);
      return {
        type: "Error",
        name: "Error",
        message,
        stack: undefined,
        props: {},
        thrown: { value: copy === null ? message : copy.value },
      };
    }
    const type = errorType(error);
    const name = read(error, "name");
    const message = read(error, "message");
    const stack = read(error, "stack");
    /** Keys kept apart from `props`: they travel serialized, or not at all. */
    const apart = new Set(["cause"]);
    const serialized: {
      -readonly [K in keyof SerializedError]: SerializedError[K];
    } = {
      type,
      name: name === null
        ? type.replace(/^.*\./, "")
        : typeof name.value === "string"
        ? name.value
        : text(name.value),
      message: message === null
        ? ""
        : typeof message.value === "string"
        ? message.value
        : text(message.value),
      stack: stack === null || stack.value === undefined
        ? undefined
        : typeof stack.value === "string"
        ? stack.value
        : text(stack.value),
      props: {},
    };
    let hasCause = false;
    try {
      hasCause = "cause" in error;
    } catch {
      // A Proxy's has trap threw: no cause that can be read.
    }
    const cause = hasCause ? read(error, "cause") : null;
    if (cause !== null) serialized.cause = serializeValue(cause.value, depth + 1);
    if (type === "AggregateError") {
      apart.add("errors");
      const errors = arrayItems(read(error, "errors")?.value);
      if (errors !== null) {
        const list: SerializedValue[] = [];
        for (const item of errors) {
          const value = serializeValue(item, depth + 1);
          if (value !== undefined) list.push(value);
        }
        serialized.errors = list;
      }
    } else if (type === "SuppressedError") {
      apart.add("error").add("suppressed");
      const inner = serializeValue(read(error, "error")?.value, depth + 1);
      const suppressed = serializeValue(read(error, "suppressed")?.value, depth + 1);
      if (inner !== undefined && suppressed !== undefined) {
        serialized.suppressed = { error: inner, suppressed };
      }
    } else if (type === "QuotaExceededError") {
      const quota = read(error, "quota")?.value;
      const requested = read(error, "requested")?.value;
      serialized.quota = {
        quota: typeof quota === "number" ? quota : null,
        requested: typeof requested === "number" ? requested : null,
      };
    }
    let keys: string[] = [];
    try {
      keys = Object.keys(error);
    } catch {
      // A Proxy's ownKeys trap threw: no properties that can be read.
    }
    for (const key of keys) {
      if (apart.has(key)) continue;
      const value = read(error, key);
      const copy = value === null ? null : clone(value.value);
      if (copy !== null) serialized.props[key] = copy.value;
    }
    return serialized;
  }

  function compile(spec: FunctionSpec & { kind: "source" }): Fn {
    // An arrow, a `function` or a class is an expression as written; method
    // shorthand (`square(n) { ... }`) only parses inside an object literal.
    // `new Function` compiles in the global scope, so a task never sees the
    // variables of this harness.
    // The sourceURL names the task in stack traces: "at square (task:square:2:10)".
    const name = `\n//# sourceURL=task:${spec.name || "anonymous"}\n`;
    try {
      return new Function(`return (${spec.source}\n);${name}`)() as Fn;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
      const holder = new Function(`return ({${spec.source}\n});${name}`)() as Record<string, Fn>;
      return Object.values(holder)[0];
    }
  }

  async function resolve(spec: FunctionSpec): Promise<Fn> {
    if (spec.kind === "source") return compile(spec);
    const module = await import(spec.url);
    const fn = module[spec.exportName];
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot run export "${spec.exportName}" of ${spec.url}: expected a function, got ${typeof fn}`,
      );
    }
    return fn as Fn;
  }

  function now(): number {
    return origin + performance.now();
  }

  function post(message: FromWorker, transfer: Transferable[] = []): void {
    // An empty transfer list is not free: with one, a worker's first
    // postMessage took 2.5-3 ms instead of 0.2-0.4.
    if (transfer.length === 0) realPost(message);
    else realPost(message, transfer);
  }

  /** Sends the last word before the worker goes: what finished, and where it died. */
  function die(how: "close" | "exit" | "uncaught", error: SerializedError | null): void {
    if (dying) return;
    dying = true;
    const results = batchOut.slice();
    let chunkId: number | null = null;
    let index = -1;
    if (running !== null) {
      chunkId = running.id;
      index = running.index;
      const values = (running.numbers ?? running.values).slice(0, index);
      results.push([running.id, values, running.errors, running.start, now()]);
    }
    try {
      post({ type: "dying", how, error, results, chunkId, index, loading });
    } catch {
      post({ type: "dying", how, error, results: [], chunkId, index, loading });
    }
  }

  // Deno tells the parent nothing when a worker ends itself, so the two ways a
  // task can do that are wrapped to send a last message first.
  scope.close = () => {
    die("close", null);
    realClose();
  };
  denoNs.exit = ((code?: number) => {
    die("exit", serialize(new Error(`Deno.exit(${code ?? 0}) was called inside the worker`)));
    realClose();
  }) as (code?: number) => never;
  // An error no task caught (a throwing timer, an unhandled rejection) would
  // end the worker with a report on stderr; instead it becomes the last message.
  scope.addEventListener("error", (event) => {
    event.preventDefault();
    die("uncaught", serialize(event.error));
    realClose();
  });
  scope.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    die("uncaught", serialize(event.reason));
    realClose();
  });

  function stopped(): boolean {
    // A plain read, not Atomics.load: this runs before every item, V8 inlines
    // a typed-array read but calls out for Atomics.load (a third of the time of
    // a map of tiny items). The flag is only ever set once, from 0 to 1, and
    // the read is repeated, so a late sight of it only delays the stop by an item.
    return dying || (stopFlag !== null && stopFlag[0] !== 0);
  }

  /**
   * Whether a task's result is to be awaited. One whose `then` cannot be
   * read (a getter that throws, a revoked Proxy) is, as `await` would: the
   * promise made of it rejects with that error, and the item fails.
   */
  function isThenable(value: unknown): value is PromiseLike<unknown> {
    if (value === null || typeof value !== "object" && typeof value !== "function") return false;
    try {
      return typeof (value as { then?: unknown }).then === "function";
    } catch {
      return true;
    }
  }

  /** Records a failed item; returns `true` when the chunk must stop here. */
  function fail(state: Running, index: number, error: unknown): boolean {
    (state.errors ??= []).push({ index, error: serialize(error) });
    return !state.settle;
  }

  function finish(state: Running): ChunkResult {
    running = null;
    if (state.numbers !== null) {
      // An item that failed still holds its input here; the pool skips failed items' values.
      return [state.id, state.numbers, state.errors, state.start, now()];
    }
    const values = state.values;
    let packed: ChunkItems = values;
    const n = values.length;
    if (n >= PACK_MIN && state.errors === null) {
      // One pass checks and copies; a hole reads as undefined and keeps the array.
      const numbers = new Float64Array(n);
      let i = 0;
      for (; i < n; i++) {
        const value = values[i];
        if (typeof value !== "number") break;
        numbers[i] = value;
      }
      if (i === n) packed = numbers;
    }
    return [state.id, packed, state.errors, state.start, now()];
  }

  /** Runs items from `from` on; hands over to a promise when a task returns one. */
  function advance(state: Running, from: number): ChunkResult | Promise<ChunkResult> {
    const { items, fn, spread } = state;
    const n = items.length;
    // Packed numbers have no holes; `in` on a typed array is a slow lookup.
    const holes = Array.isArray(items);
    for (let i = from; i < n; i++) {
      if (stopped()) break;
      if (holes && !(i in items)) continue; // a hole stays a hole, as in Array.prototype.map
      state.index = i;
      let value: unknown;
      try {
        if (fn === null) throw state.failure;
        value = spread ? fn(...(items[i] as unknown[])) : fn(items[i]);
      } catch (error) {
        if (fail(state, i, error)) break;
        continue;
      }
      const pending = keep(state, i, value);
      if (pending !== null) return pending;
    }
    return finish(state);
  }

  /**
   * `advance` for a chunk of packed numbers whose results are numbers so far:
   * each result goes to `out`, which is the items themselves when they are
   * doubles in the worker's own copy (an item is read first and never
   * again). Kept apart so that V8 sees only typed arrays here, which makes a
   * map of tiny items about three times faster per item than the general loop.
   */
  function advanceNumbers(
    state: Running,
    fn: Fn,
    items: Float64Array | Int32Array,
    out: Float64Array,
  ): ChunkResult | Promise<ChunkResult> {
    const n = items.length;
    for (let i = 0; i < n; i++) {
      if (stopped()) break;
      state.index = i;
      let value: unknown;
      try {
        value = fn(items[i]);
      } catch (error) {
        if (fail(state, i, error)) break;
        continue;
      }
      if (typeof value === "number") {
        out[i] = value;
        continue;
      }
      return keep(state, i, value) ?? advance(state, i + 1);
    }
    return finish(state);
  }

  /** Keeps item `i`'s result; a promise pauses the chunk until it settles. */
  function keep(state: Running, i: number, value: unknown): Promise<ChunkResult> | null {
    const numbers = state.numbers;
    if (numbers !== null) {
      // The first result that is not a number: go on with a plain array.
      // Its length is the chunk's, as the pool reads the chunk's size from it.
      const values = new Array(numbers.length);
      for (let j = 0; j < i; j++) values[j] = numbers[j];
      state.values = values;
      state.numbers = null;
    }
    if (isThenable(value)) {
      return Promise.resolve(value).then(
        (result) => {
          state.values[i] = result;
          return advance(state, i + 1);
        },
        (error) => fail(state, i, error) ? finish(state) : advance(state, i + 1),
      );
    }
    state.values[i] = value;
    return null;
  }

  function runChunk(
    [id, , , fnId, spread, settle, items]: RunChunk,
  ): ChunkResult | Promise<ChunkResult> {
    const entry = fns.get(fnId) ??
      { fn: null, failure: new Error(`Function ${fnId} was never defined`) };
    const packedIn = !Array.isArray(items);
    // Results of packed doubles overwrite the chunk's own copy (item i is
    // read before result i is written, and never again). Items in shared
    // memory are the pool's too, kept to run again if this worker dies, and
    // integers have no room for any number: their results go to an array of
    // their own.
    const numbers = !packedIn
      ? null
      : items instanceof Float64Array && !(items.buffer instanceof SharedArrayBuffer)
      ? items
      : new Float64Array(items.length);
    const state: Running = {
      id,
      fn: entry.fn,
      failure: entry.failure,
      items,
      spread,
      settle,
      values: packedIn ? [] : new Array(items.length),
      numbers,
      errors: null,
      start: now(),
      index: 0,
    };
    running = state;
    return numbers !== null && !spread && entry.fn !== null
      ? advanceNumbers(state, entry.fn, items as Float64Array | Int32Array, numbers)
      : advance(state, 0);
  }

  /**
   * Replaces results that cannot be cloned with errors saying so, and the
   * rest with their clones: a result whose getters answer differently each
   * time cannot then fail the next send.
   */
  function sendable(results: ChunkResult[]): void {
    for (let k = 0; k < results.length; k++) {
      const [id, values, sent, start, end] = results[k];
      if (values instanceof Float64Array) continue;
      const errors = sent === null ? [] : [...sent];
      for (let i = 0; i < values.length; i++) {
        if (!(i in values)) continue;
        try {
          values[i] = structuredClone(values[i]);
        } catch (reason) {
          values[i] = undefined;
          errors.push({ index: i, error: serialize(reason), unsendable: true });
        }
      }
      if (errors.length > 0) results[k] = [id, values, errors, start, end];
    }
  }

  function sendResults(results: ChunkResult[]): void {
    const transfer: Transferable[] = [];
    for (const [, values] of results) {
      if (values instanceof Float64Array) transfer.push(values.buffer as ArrayBuffer);
    }
    try {
      post(results, transfer);
      return;
    } catch {
      sendable(results);
    }
    try {
      post(results, transfer);
    } catch (reason) {
      // Each result clones on its own but not all together (too large for
      // one message): the items fail, so that their chunks are not run again
      // forever on fresh workers that fail the same way.
      const error = serialize(reason);
      post(results.map(([id, values, , start, end]): ChunkResult => [
        id,
        // The chunk's size travels as the length of its values.
        new Array(values.length),
        Array.from({ length: values.length }, (_, index) => ({ index, error, unsendable: true })),
        start,
        end,
      ]));
    }
  }

  /** Marks a chunk as started; `false` when the pool has taken it back, and it must be skipped. */
  function claim([, slot, tag]: RunChunk): boolean {
    return claims === null || Atomics.compareExchange(claims, slot, tag, -1) === tag;
  }

  /** Marks a chunk as done: too late to take back, its results are on their way. */
  function release([, slot]: RunChunk): void {
    if (claims !== null) Atomics.store(claims, slot, -2);
  }

  function runBatch(chunks: readonly RunChunk[], from: number): void | Promise<void> {
    for (let k = from; k < chunks.length; k++) {
      if (stopped()) return;
      const chunk = chunks[k];
      if (batchOut.length > 0) beforeChunk();
      if (!claim(chunk)) continue;
      const result = runChunk(chunk);
      if (result instanceof Promise) {
        // The worker waits for the promise with nothing else to do: what
        // is done goes now.
        flushResults();
        return result.then((done) => {
          release(chunk);
          hold(done);
          return runBatch(chunks, k + 1);
        });
      }
      release(chunk);
      hold(result);
    }
    flushResults();
  }

  function hold(result: ChunkResult): void {
    if (batchOut.length === 0) heldSince = performance.now();
    batchOut.push(result);
  }

  /** Whether the pool has handled every result message this worker posted. */
  function caughtUp(): boolean {
    return handled !== null && Atomics.load(handled, 0) === resultsPosted;
  }

  /**
   * Decides, with results of the batch done, whether they go now or wait to
   * go with the next ones. The next chunk may run for any time, so what is
   * done goes before it when the pool would handle it at once: when it has
   * handled every earlier answer of this worker. A pool still busy with
   * those (or with other workers' answers, or the caller's code) would not
   * read them sooner, so a batch holds its results while the pool is behind,
   * as long as they are under `HOLD_MS` old when a chunk starts. Sending
   * every chunk's results at once instead made 100,000 queued tiny tasks
   * 3-4 times slower (2 cores): a message costs the main thread 3-5 µs. The
   * price: results held when a long synchronous chunk starts wait for it.
   */
  function beforeChunk(): void {
    if (caughtUp() || performance.now() - heldSince >= HOLD_MS) flushResults();
  }

  /** Sends the results finished so far; nothing when every chunk was taken back. */
  function flushResults(): void {
    if (stopped() || batchOut.length === 0) return;
    const results = batchOut;
    batchOut = [];
    sendResults(results);
    resultsPosted++;
  }

  /** Takes the shared buffers; only an initializer makes it asynchronous. */
  function initialize(message: Extract<ToWorker, { type: "init" }>): void | Promise<void> {
    stopFlag = message.stop;
    claims = message.claims ?? null;
    awake = message.awake ?? null;
    handled = message.read ?? null;
    if (message.initializer !== null) return runInitializer(message.initializer, message.initArgs);
  }

  async function runInitializer(spec: FunctionSpec, args: readonly unknown[]): Promise<void> {
    loading = "init";
    try {
      const init = await resolve(spec);
      await init(...args);
      loading = null;
    } catch (error) {
      post({ type: "init-failed", error: serialize(error) });
      dying = true;
      realClose();
    }
  }

  async function define(message: Extract<ToWorker, { type: "define" }>): Promise<void> {
    loading = message.fnId;
    try {
      fns.set(message.fnId, { fn: await resolve(message.spec), failure: null });
    } catch (error) {
      fns.set(message.fnId, { fn: null, failure: error });
    }
    loading = null;
  }

  function handle(message: ToWorker): void | Promise<void> {
    if (Array.isArray(message)) return runBatch(message, 0);
    switch (message.type) {
      case "define":
        return message.spec.kind === "source"
          ? defineSync(message.fnId, message.spec)
          : define(message);
      case "init":
        return initialize(message);
    }
  }

  /**
   * Compiles a function sent by its source. That runs code (a class's static
   * blocks and computed keys), which may end the worker: `loading` says then
   * whose fault it was.
   */
  function defineSync(fnId: number, spec: FunctionSpec & { kind: "source" }): void {
    loading = fnId;
    try {
      fns.set(fnId, { fn: compile(spec), failure: null });
    } catch (error) {
      fns.set(fnId, { fn: null, failure: error });
    }
    loading = null;
  }

  /** Handles messages strictly in order; an async step pauses the queue, never reorders it. */
  function pump(): void {
    pumping = true;
    onCpu(1);
    while (head < inbox.length && !stopped()) {
      const message = inbox[head] as ToWorker;
      inbox[head++] = undefined;
      const pending = handle(message);
      if (pending !== undefined) {
        onCpu(0);
        pending.then(pump, (error) => {
          die("uncaught", serialize(error));
          realClose();
        });
        return;
      }
    }
    inbox.length = 0;
    head = 0;
    pumping = false;
    onCpu(0);
    idleSince = performance.now();
    if (awake === null) return;
    idleBoardPosts = Atomics.load(awake.boardPosts, 0);
    idlePosted = Atomics.load(awake.posted, 0);
    if (!awakeQueued) {
      awakeQueued = true;
      // A microtask, not setImmediate: the first setImmediate in a worker
      // loads Deno's Node compatibility layer, about 6 ms that held up every
      // new worker's first chunk (2 cores).
      queueMicrotask(stayAwake);
    }
  }

  /** Marks this worker's slot on the pool's `CpuBoard`. */
  function onCpu(value: 0 | 1): void {
    if (awake !== null && awake.slot >= 0) Atomics.store(awake.board, awake.slot, value);
  }

  /** Workers of the pool marked on a CPU. */
  function onCpuCount(board: Int32Array): number {
    let count = 0;
    for (let i = 0; i < board.length; i++) count += Atomics.load(board, i);
    return count;
  }

  /**
   * Waits awake until the pool posts again, for up to `AWAKE_MS`, and then
   * returns to the event loop, which finds the message already there. Awaited
   * calls one at a time took 84-101 µs instead of 146-184 with this (2 cores).
   */
  function stayAwake(): void {
    awakeQueued = false;
    if (awake === null || awake.slot < 0 || pumping || !quickReturn || stopped()) return;
    if (skips > 0) {
      skips--;
      return;
    }
    const { posted, board, boardPosts } = awake;
    // Read before its own count: a message posted after this read changes
    // the pool's count, one posted before it shows in its own.
    const seen = Atomics.load(boardPosts, 0);
    if (Atomics.load(posted, 0) !== received) return;
    // Marked first and counted after, so two workers deciding at once
    // cannot both miss each other. It gives up its CPU as soon as the pool
    // posts to any worker, or another worker comes on a CPU.
    onCpu(1);
    const until = performance.now() + AWAKE_MS;
    while (
      Atomics.load(boardPosts, 0) === seen && onCpuCount(board) <= workerCpus &&
      performance.now() < until && !stopped()
    ) {
      // Nothing to do until the next message arrives.
    }
    onCpu(0);
    // A wait that caught nothing for this worker cost a CPU for nothing:
    // the next ones are skipped, twice as many after each such wait.
    if (Atomics.load(posted, 0) !== received) {
      misses = 0;
    } else {
      misses = Math.min(misses + 1, 6);
      skips = (1 << misses) - 1;
    }
  }

  scope.addEventListener("message", (event) => {
    received++;
    inbox.push(event.data);
    if (pumping) return;
    if (awake !== null) {
      const toAll = Atomics.load(awake.boardPosts, 0) - idleBoardPosts;
      const toThis = Atomics.load(awake.posted, 0) - idlePosted;
      quickReturn = toAll === toThis && performance.now() - idleSince <= AWAKE_MS;
    }
    pump();
  });
}
