/**
 * `ClusterPool`: the same `TaskPool` on a NATS JetStream cluster. Chunks are
 * messages on a work-queue stream that node programs (`node.ts`) pull and
 * run on their local pools; each result comes back once to this pool's
 * inbox.
 *
 * @module
 */

import { connect, createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";
import {
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { Settled } from "../engine/call.ts";
import { openInput } from "../engine/call.ts";
import { PoolClosedError } from "../errors.ts";
import { Recorder } from "../recorder.ts";
import type { ApplyOptions, IMapOptions, MapOptions, Task } from "../options.ts";
import type { TaskPool } from "../task_pool.ts";
import {
  callback,
  checkedSignal,
  describe,
  functionSpec,
  inputKind,
  MIN_IN_FLIGHT,
  positiveInteger,
} from "../_validate.ts";
import { type CallHost, type CallSpec, ClusterCall } from "./_call.ts";
import { ensureStream } from "./_jetstream.ts";
import {
  cancelSubject,
  chunkSubject,
  decode,
  DEFAULTS,
  encode,
  maxDeliveriesSubject,
  type NodeInfo,
  type NodeRequest,
  nodesSubject,
  UNWANTED,
} from "./_messages.ts";
import { ClusterStream } from "./_stream.ts";

/**
 * How to reach the NATS server: passed on to the NATS client
 * (`@nats-io/transport-node`'s `connect`) as they are.
 */
export interface ConnectOptions {
  /**
   * One server URL or several (`"nats://10.0.0.5:4222"`).
   * @default {"127.0.0.1:4222"}
   */
  readonly servers?: string | string[];
  /** A user name, with `pass`. */
  readonly user?: string;
  /** The user's password. */
  readonly pass?: string;
  /** An authentication token. */
  readonly token?: string;
  /** TLS: the CA, certificate and key files (or PEM text) the client uses. */
  readonly tls?: TlsOptions;
  /** The connection's name, as the server's monitoring shows it. */
  readonly name?: string;
  /** ms to wait for the server when connecting. */
  readonly timeout?: number;
  /**
   * ms between attempts to reconnect once the connection is lost (a server
   * restarting), plus up to 100 ms at random. The NATS client's default is
   * 2000; a pool's is shorter, so that after a restart the caller is most
   * likely back before the nodes (which keep the default) ask it about its
   * chunks.
   * @default {250}
   */
  readonly reconnectTimeWait?: number;
  /**
   * Attempts to reconnect before the connection closes for good; `-1`: no
   * limit. The NATS client's default is 10 (some 20 s); a pool's is no
   * limit, since its calls would otherwise wait for ever on a closed
   * connection, while they finish once the server is back.
   * @default {-1}
   */
  readonly maxReconnectAttempts?: number;
}

/** How a pool's connection rides out a server that goes away: see {@linkcode ConnectOptions}. */
const RECONNECT = { reconnectTimeWait: 250, maxReconnectAttempts: -1 } as const;

/** TLS settings of a connection, as the NATS client for Node takes them. */
export interface TlsOptions {
  /** Path of the CA certificate that signed the server's. */
  readonly caFile?: string;
  /** Path of the client's certificate, for mutual TLS. */
  readonly certFile?: string;
  /** Path of the client's key. */
  readonly keyFile?: string;
  /** The CA certificate, as PEM text. */
  readonly ca?: string;
  /** The client's certificate, as PEM text. */
  readonly cert?: string;
  /** The client's key, as PEM text. */
  readonly key?: string;
  /** Starts TLS before the server's first message (servers set to `handshake_first`). */
  readonly handshakeFirst?: boolean;
}

/** Options for {@linkcode ClusterPool.connect}: how to reach the server, and the pool's own. */
export interface ClusterPoolOptions extends ConnectOptions {
  /**
   * The work-queue stream that carries the chunks; the nodes must pull from
   * the same one.
   * @default {"POOL_CHUNKS"}
   */
  readonly stream?: string;
  /**
   * How many chunks the cluster runs at once, for the default chunk size of
   * `map`: `ceil(items / (4 × parallelism))`, as a local pool uses its
   * worker count.
   * @default {16}
   */
  readonly parallelism?: number;
  /**
   * How many times an item may kill what runs it before it fails with
   * `WorkerCrashedError`: its worker on a node, or its node (a node that
   * dies or stops renewing its lease while the item runs). Its other items
   * go on.
   * @default {3}
   */
  readonly maxCrashes?: number;
  /**
   * When given, each chunk is recorded in it: its node (row `node NAME`),
   * its items, and when the node started and ended it, on the node's clock.
   */
  readonly recorder?: Recorder;
}

interface Shape {
  readonly method: string;
  readonly spread: boolean;
  readonly settle: boolean;
}

const MAP: Shape = { method: "map", spread: false, settle: false };
const STARMAP: Shape = { method: "starmap", spread: true, settle: false };
const MAP_SETTLED: Shape = { method: "mapSettled", spread: false, settle: true };

/**
 * A pool whose workers are the nodes of a NATS JetStream cluster
 * (`lib/cluster/node.ts`), with the methods, options and errors of
 * {@linkcode TaskPool}: code written against `TaskPool` runs here by
 * changing the line that makes the pool.
 *
 * A chunk runs at least once: a node that dies holding it loses it to
 * another node once its lease lapses. Each result reaches the caller once.
 * So tasks must be idempotent.
 *
 * @example Square numbers on the cluster
 * ```ts ignore
 * import { ClusterPool } from "./mod.ts";
 *
 * await using pool = await ClusterPool.connect({ servers: "nats://127.0.0.1:4222" });
 * console.log(await pool.map((n: number) => n * n, [1, 2, 3])); // [1, 4, 9]
 * ```
 */
export class ClusterPool implements TaskPool {
  #nc: NatsConnection;
  #js: JetStreamClient;
  #jsm: JetStreamManager;
  #stream: string;
  #subject: string;
  #parallelism: number;
  #calls = new Map<string, ClusterCall>();
  /** Which call and chunk each stream sequence in flight holds. */
  #bySeq = new Map<number, { call: ClusterCall; chunk: number }>();
  #nextCall = 0;
  #state: "open" | "closed" | "ended" = "open";
  /** Calls of `map`, `starmap`, `mapSettled` and `apply` not yet settled: `join()` waits for them. */
  #pending = new Set<Promise<unknown>>();
  /** Streams not yet ended by their reader: `join()` waits until they wait for it. */
  #streams = new Set<ClusterStream<unknown>>();
  /** Ends every pending call at `terminate()`. */
  #terminators = new Set<(error: unknown) => void>();
  #host: CallHost;
  #ended: Promise<void> | null = null;

  private constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    { stream, parallelism, recorder, maxCrashes }: {
      stream: string;
      parallelism: number;
      recorder: Recorder | undefined;
      maxCrashes: number;
    },
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#subject = chunkSubject(stream);
    this.#parallelism = parallelism;
    const inbox = createInbox();
    nc.subscribe(inbox, {
      callback: (error, msg) => {
        if (error === null) this.#answer(msg);
      },
    });
    // The server gives up on a chunk after the consumer's max_deliver: fail
    // it, or its call would wait for ever.
    nc.subscribe(maxDeliveriesSubject(stream), {
      callback: (error, msg) => {
        if (error === null) this.#lost(msg);
      },
    });
    this.#host = {
      inbox,
      publish: async (id, bytes) =>
        (await this.#js.publish(this.#subject, bytes, { msgID: id })).seq,
      forget: (seq) => {
        this.#jsm.streams.deleteMessage(this.#stream, seq, false).catch(() => {
          // Already gone: acked by a node, or deleted before.
        });
      },
      register: (call) => this.#calls.set(call.id, call),
      unregister: (call) => this.#calls.delete(call.id),
      track: (seq, call, chunk) => {
        if (chunk < 0) this.#bySeq.delete(seq);
        else this.#bySeq.set(seq, { call, chunk });
      },
      cancel: (call) => {
        try {
          nc.publish(cancelSubject(stream), encode({ reply: inbox, call }));
        } catch {
          // The connection is closed: the nodes find the call gone when they ask.
        }
      },
      recorder,
      maxCrashes,
    };
  }

  /**
   * Connects to the NATS server and makes the work-queue stream unless it
   * exists.
   *
   * @param options The NATS client's options (servers, auth, TLS) and the pool's own.
   * @returns The pool, open for calls.
   * @throws {RangeError} `parallelism` is not a positive integer.
   * @throws What the NATS client throws when it cannot connect or JetStream is not enabled.
   */
  static async connect(options: ClusterPoolOptions = {}): Promise<ClusterPool> {
    const {
      stream = DEFAULTS.stream,
      parallelism = 16,
      maxCrashes = DEFAULTS.maxCrashes,
      recorder,
      ...natsOptions
    } = options;
    positiveInteger("parallelism", parallelism);
    positiveInteger("maxCrashes", maxCrashes);
    checkConnectNumbers(natsOptions);
    if (recorder !== undefined && !(recorder instanceof Recorder)) {
      throw new TypeError(
        `Cannot use "recorder" as it must be a Recorder: current value is ${describe(recorder)}`,
      );
    }
    if (typeof stream !== "string" || !/^[A-Za-z0-9_-]+$/.test(stream)) {
      throw new TypeError(
        `Cannot use "stream" as it must be a name of letters, digits, "_" and "-": current value is ${
          describe(stream)
        }`,
      );
    }
    const nc = await connect({ ...RECONNECT, ...natsOptions });
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm, stream);
      return new ClusterPool(nc, jetstream(nc), jsm, {
        stream,
        parallelism,
        recorder,
        maxCrashes,
      });
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /**
   * Runs `fn` on every item on the cluster; resolves with the results in input order.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param items The input, read in full first.
   * @param options Chunk size, abort signal, progress callback.
   * @returns The results, in input order.
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  map<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions = {},
  ): Promise<R[]> {
    return this.#collect<R>(fn, items, options, MAP);
  }

  /**
   * Like `map`, each item an argument list: `fn(...args)`.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param argsList One argument list per call.
   * @param options Chunk size, abort signal, progress callback.
   * @returns The results, in input order.
   * @throws {TypeError} `fn` is not a function or module task; `argsList` is not iterable.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  starmap<A extends unknown[], R>(
    fn: Task<A, R>,
    argsList: Iterable<A> | AsyncIterable<A>,
    options: MapOptions = {},
  ): Promise<R[]> {
    return this.#collect<R>(fn, argsList, options, STARMAP);
  }

  /**
   * Like `map`, reporting every item as `Promise.allSettled` does.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param items The input.
   * @param options Chunk size, abort signal, progress callback.
   * @returns One outcome per item, in input order.
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable.
   * @throws {RangeError} `chunkSize` is not a positive integer.
   */
  mapSettled<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: MapOptions = {},
  ): Promise<Settled<R>[]> {
    return this.#collect<Settled<R>>(fn, items, options, MAP_SETTLED);
  }

  /**
   * Runs `fn(...args)` once on a node.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param args Its arguments.
   * @param options Abort signal.
   * @returns What `fn` returned.
   * @throws {TypeError} `fn` is not a function or module task; `args` is not an array.
   */
  async apply<A extends unknown[], R>(
    fn: Task<A, R>,
    args: A,
    options: ApplyOptions = {},
  ): Promise<R> {
    if (!Array.isArray(args)) {
      functionSpec(fn, "fn");
      throw new TypeError(
        `Cannot apply the function as "args" must be an array: current value is ${describe(args)}`,
      );
    }
    const [result] = await this.#collect<R>(fn, [args], { signal: options.signal }, {
      method: "apply",
      spread: true,
      settle: false,
    });
    return result;
  }

  /**
   * Streams the results in input order, reading the input lazily.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param items The input; it may be endless.
   * @param options Chunk size, window, abort signal, progress callback.
   * @returns The results, in input order.
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable.
   * @throws {RangeError} `chunkSize` or `maxInFlight` is not a positive integer.
   */
  imap<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: IMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#streamOf<R>(fn, items, options, true);
  }

  /**
   * Like `imap`, in the order results arrive.
   *
   * @param fn A self-contained function, or a module task the nodes allow.
   * @param items The input; it may be endless.
   * @param options Chunk size, window, abort signal, progress callback.
   * @returns The results, as they arrive.
   * @throws {TypeError} `fn` is not a function or module task; `items` is not iterable.
   * @throws {RangeError} `chunkSize` or `maxInFlight` is not a positive integer.
   */
  imapUnordered<T, R>(
    fn: Task<[T], R>,
    items: Iterable<T> | AsyncIterable<T>,
    options: IMapOptions = {},
  ): AsyncIterableIterator<R> {
    return this.#streamOf<R>(fn, items, options, false);
  }

  /**
   * The nodes pulling from this pool's stream now, as each says of itself:
   * its name, workers, chunks held, kind of workers and Deno version. Nodes
   * answer within `waitMs`; none: an empty list.
   *
   * @param options How long to wait for answers, in ms (500).
   * @returns One entry per node that answered.
   */
  async nodes({ waitMs = 500 }: { waitMs?: number } = {}): Promise<NodeInfo[]> {
    positiveInteger("waitMs", waitMs);
    const nodes: NodeInfo[] = [];
    try {
      const answers = await this.#nc.requestMany(nodesSubject(this.#stream), undefined, {
        strategy: "timer",
        maxWait: waitMs,
      });
      for await (const answer of answers) {
        try {
          nodes.push(decode<NodeInfo>(answer.data));
        } catch {
          // Not a node's answer: left out.
        }
      }
    } catch {
      // No node listens ("no responders"), or the connection is closed.
    }
    return nodes;
  }

  /** Stops taking calls; every `map`-like call already made runs to completion. */
  close(): void {
    if (this.#state === "open") this.#state = "closed";
  }

  /**
   * Ends now: pending calls reject with `PoolClosedError`, their queued
   * chunks are deleted, and the connection closes.
   *
   * @returns Once the connection is closed.
   */
  async terminate(): Promise<void> {
    this.close();
    const error = new PoolClosedError("Cannot finish the call as the pool was terminated");
    for (const end of [...this.#terminators]) end(error);
    for (const stream of this.#streams) stream.terminate(error);
    await this.#end();
  }

  /**
   * Waits for every call made before `close()`: each `map`-like call to
   * settle, each stream until nothing it sent is still running. Then the
   * connection closes; a stream read on after that yields what it holds,
   * then ends (or fails with `PoolClosedError` where its input goes on).
   *
   * @returns Once the connection is closed.
   * @throws {DOMException} `InvalidStateError` when the pool is still open.
   */
  async join(): Promise<void> {
    if (this.#state === "open") {
      throw new DOMException(
        "Cannot join the pool as it is still open: call close() or terminate() first",
        "InvalidStateError",
      );
    }
    while (true) {
      while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
      await Promise.all([...this.#streams].map((stream) => stream.idle()));
      if (this.#pending.size === 0) break;
    }
    await this.#end();
  }

  /** `close()`, then `join()`: what `await using` does when the block ends. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  #end(): Promise<void> {
    this.#state = "ended";
    this.#ended ??= (async () => {
      for (const stream of this.#streams) stream.disconnect();
      for (const call of [...this.#calls.values()]) call.end();
      // Let the deletions of queued chunks reach the server before the connection goes.
      await this.#nc.flush().catch(() => {});
      await this.#nc.drain().catch(() => this.#nc.close());
    })();
    return this.#ended;
  }

  /** Answers a node: what it may run of a chunk, or takes what it reports. */
  #answer(msg: Msg): void {
    let request: NodeRequest;
    try {
      request = decode<NodeRequest>(msg.data);
    } catch {
      return;
    }
    try {
      this.#take(request, msg);
    } catch {
      // A message no node of this library would send: dropped, whoever sent
      // it, rather than let it throw inside the client's callback.
    }
  }

  #take(request: NodeRequest, msg: Msg): void {
    const call = this.#calls.get(request.call);
    switch (request.type) {
      case "wanted": {
        const plan = call?.plan(request.chunk, request.first, request.delivery) ?? null;
        msg.respond(plan === null ? UNWANTED : encode(plan));
        return;
      }
      case "progress":
        call?.progress(request);
        return;
      case "result": {
        const missing = call?.finish(request) ?? [];
        msg.respond(missing.length === 0 ? undefined : encode({ missing }));
        return;
      }
    }
  }

  #lost(msg: Msg): void {
    let seq: unknown;
    let deliveries: unknown;
    try {
      ({ stream_seq: seq, deliveries } = msg.json<{ stream_seq: unknown; deliveries: unknown }>());
    } catch {
      return;
    }
    if (typeof seq !== "number") return;
    const held = this.#bySeq.get(seq);
    if (held === undefined) return;
    this.#bySeq.delete(seq);
    this.#host.forget(seq);
    held.call.lost(held.chunk, typeof deliveries === "number" ? deliveries : 0);
  }

  #spec(fn: unknown, spread: boolean): CallSpec {
    const spec = functionSpec(fn, "fn");
    return { fn: spec, spread, taskName: spec.kind === "module" ? spec.exportName : spec.name };
  }

  #refuse(): void {
    if (this.#state !== "open") throw new PoolClosedError();
  }

  #collect<R>(
    fn: unknown,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapOptions,
    shape: Shape,
  ): Promise<R[]> {
    let spec: CallSpec;
    let signal: AbortSignal | undefined;
    let onProgress: ((done: number, total: number) => void) | undefined;
    try {
      spec = this.#spec(fn, shape.spread);
      if (options.chunkSize !== undefined) positiveInteger("chunkSize", options.chunkSize);
      inputKind(items, shape.method);
      signal = checkedSignal(options.signal);
      onProgress = callback("onProgress", options.onProgress);
      this.#refuse();
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = this.#run<R>(spec, items, { ...options, signal, onProgress }, shape.settle);
    this.#pending.add(promise);
    const forget = () => this.#pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async #run<R>(
    spec: CallSpec,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: MapOptions,
    settle: boolean,
  ): Promise<R[]> {
    const { signal, onProgress } = options;
    signal?.throwIfAborted();
    const list = await readAll(items, signal);
    const total = list.length;
    if (total === 0) return [];
    // A call made before close() runs; one whose input was still being read at terminate() does not.
    if (this.#state === "ended") {
      throw new PoolClosedError("Cannot finish the call as the pool was terminated");
    }
    const chunkSize = options.chunkSize ??
      Math.max(1, Math.ceil(total / (4 * this.#parallelism)));
    const results = new Array<unknown>(total);
    let done = 0;
    return await new Promise<R[]>((resolve, reject) => {
      let finished = false;
      const finish = (error?: { error: unknown }) => {
        if (finished) return;
        finished = true;
        signal?.removeEventListener("abort", onAbort);
        this.#terminators.delete(terminate);
        call.end();
        if (error === undefined) resolve(results as R[]);
        else reject(error.error);
      };
      const onAbort = () => finish({ error: signal?.reason });
      const terminate = (error: unknown) => finish({ error });
      const call = new ClusterCall(this.#host, String(this.#nextCall++), spec, {
        onOutcomes: (start, outcomes) => {
          for (const outcome of outcomes) {
            const index = start + outcome.offset;
            if (outcome.ok) {
              const { values } = outcome;
              for (let i = 0; i < values.length; i++) {
                results[index + i] = settle ? { status: "fulfilled", value: values[i] } : values[i];
              }
              done += values.length;
            } else if (settle) {
              results[index] = { status: "rejected", reason: call.error(start, outcome) };
              done++;
            } else {
              return finish({ error: call.error(start, outcome) });
            }
          }
          try {
            onProgress?.(done, total);
          } catch (error) {
            return finish({ error });
          }
          if (done === total) finish();
        },
        onError: (error) => finish({ error }),
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#terminators.add(terminate);
      for (let start = 0; start < total && !finished; start += chunkSize) {
        call.send(list.slice(start, start + chunkSize), start);
      }
    });
  }

  #streamOf<R>(
    fn: unknown,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options: IMapOptions,
    ordered: boolean,
  ): AsyncIterableIterator<R> {
    try {
      const spec = this.#spec(fn, false);
      const chunkSize = options.chunkSize ?? 1;
      positiveInteger("chunkSize", chunkSize);
      const maxInFlight = options.maxInFlight ??
        Math.max(MIN_IN_FLIGHT, 4 * this.#parallelism * chunkSize);
      positiveInteger("maxInFlight", maxInFlight);
      inputKind(items, ordered ? "imap" : "imapUnordered");
      const signal = checkedSignal(options.signal);
      const onProgress = callback("onProgress", options.onProgress);
      this.#refuse();
      for (const stream of this.#streams) if (stream.ended) this.#streams.delete(stream);
      const stream = new ClusterStream<R>(this.#host, String(this.#nextCall++), spec, items, {
        chunkSize,
        maxInFlight,
        ordered,
        signal,
        onProgress,
      });
      this.#streams.add(stream);
      return stream;
    } catch (error) {
      return refused<R>(error);
    }
  }
}

/**
 * The client's numeric options, checked at the door: a negative timeout
 * would reach Node's timers as a warning, a fraction the client as is.
 */
function checkConnectNumbers(options: ConnectOptions): void {
  const { timeout, reconnectTimeWait, maxReconnectAttempts } = options;
  if (timeout !== undefined) positiveInteger("timeout", timeout);
  if (reconnectTimeWait !== undefined) positiveInteger("reconnectTimeWait", reconnectTimeWait);
  if (
    maxReconnectAttempts !== undefined &&
    !(Number.isInteger(maxReconnectAttempts) && maxReconnectAttempts >= -1)
  ) {
    throw new RangeError(
      `Cannot use "maxReconnectAttempts" as it must be an integer of -1 (no limit) or more: current value is ${
        describe(maxReconnectAttempts)
      }`,
    );
  }
}

/** The whole input, read as `for await` reads it; an abort stops the reading at once. */
async function readAll(
  items: Iterable<unknown> | AsyncIterable<unknown>,
  signal: AbortSignal | undefined,
): Promise<unknown[]> {
  if (Array.isArray(items)) return items;
  if (typeof (items as AsyncIterable<unknown>)[Symbol.asyncIterator] !== "function") {
    return Array.from(items as Iterable<unknown>);
  }
  const input = openInput(items);
  const list: unknown[] = [];
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason);
  });
  aborted.catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    while (true) {
      const step = await Promise.race([input.next(), aborted]);
      if (step.done) return list;
      list.push(step.value);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** A stream refused at the door: its first `next()` rejects with `error`. */
// deno-lint-ignore require-yield
async function* refused<R>(error: unknown): AsyncGenerator<R, undefined> {
  throw error;
}
