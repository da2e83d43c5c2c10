/**
 * A node of a cluster pool: pulls chunks from the work-queue stream, as
 * many as it has free slots, runs them on a local {@linkcode Pool}, renews
 * the lease of each chunk it holds, sends each result to the caller, and
 * acks the chunk once the caller has it.
 *
 *     deno run --allow-net=HOST:4222 lib/cluster/node.ts --server nats://HOST:4222 --workers 4
 *
 * @module
 */

import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ConnectOptions } from "./cluster_pool.ts";
import { type Consumer, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { ModuleTask, Pool, Recorder, TaskError, WorkerCrashedError } from "../mod.ts";
import type { WorkerPermissions } from "../options.ts";
import { ERROR_TYPES, type FunctionSpec } from "../_protocol.ts";
import { ErrorWriter } from "../_wire.ts";
import { ensureConsumer, ensureStream } from "./_jetstream.ts";
import {
  type ChunkMessage,
  decode,
  DEFAULTS,
  encode,
  type NodeRequest,
  type Outcome,
} from "./_messages.ts";
import { integerFlag, type Lines, parseFlags, runMain, UsageError } from "./_cli.ts";

/** What a node runs with: see `--help`. */
export interface NodeOptions {
  /** The NATS client's options: servers, auth, TLS. */
  readonly nats: ConnectOptions;
  /** Workers of the local pool, and chunks held at once. */
  readonly workers: number;
  /**
   * The work-queue stream to pull from.
   * @default {"POOL_CHUNKS"}
   */
  readonly stream?: string;
  /** ms a chunk is held without a heartbeat before it goes to another node. @default {10000} */
  readonly leaseMs?: number;
  /** Deliveries of a chunk before the stream gives up on it. @default {5} */
  readonly maxDeliver?: number;
  /** Whether functions shipped as source may run. @default {false} */
  readonly allowSource?: boolean;
  /** URL prefixes of the modules whose tasks may run; none: no module task runs. */
  readonly modules?: readonly string[];
  /** What the tasks may reach. @default {"none"} */
  readonly permissions?: WorkerPermissions;
  /**
   * The node's name in recorders' rows.
   * @default {String(Deno.pid)}
   */
  readonly name?: string;
  /** Worker threads or processes. @default {"thread"} */
  readonly isolation?: "thread" | "process";
}

/** A running node. */
export interface NodeHandle {
  /** Stops pulling, finishes the chunks it holds, closes. */
  stop(): Promise<void>;
}

/** How long a node waits for a caller's answer before it lets the chunk go back. */
const ANSWER_TIMEOUT_MS = 10_000;

/**
 * Starts a node: connects, makes the stream and the consumer unless they
 * exist, and pulls until stopped.
 *
 * @param options What to connect to and what to run.
 * @returns A handle whose `stop()` ends it.
 */
export async function runNode(options: NodeOptions): Promise<NodeHandle> {
  const stream = options.stream ?? DEFAULTS.stream;
  const leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
  const nc = await connect(options.nats);
  let pool: Pool | undefined;
  try {
    const jsm = await jetstreamManager(nc);
    await ensureStream(jsm, stream);
    await ensureConsumer(jsm, {
      stream,
      consumer: DEFAULTS.consumer,
      leaseMs,
      maxDeliver: options.maxDeliver ?? DEFAULTS.maxDeliver,
    });
    const consumer = await jetstream(nc).consumers.get(stream, DEFAULTS.consumer);
    pool = new Pool({
      workers: options.workers,
      permissions: options.permissions ?? "none",
      isolation: options.isolation ?? "thread",
    });
    // The consumer's lease is the one its maker chose, which may not be this
    // node's --lease: heartbeats follow the consumer's, or chunks would lapse
    // while they run.
    const ackWaitNs = (await consumer.info(true)).config.ack_wait;
    const lease = typeof ackWaitNs === "number" && ackWaitNs > 0 ? ackWaitNs / 1e6 : leaseMs;
    const node = new Node(nc, consumer, pool, { ...options, leaseMs: lease });
    return { stop: () => node.stop() };
  } catch (error) {
    await pool?.terminate();
    await nc.close();
    throw error;
  }
}

class Node {
  #nc: NatsConnection;
  #consumer: Consumer;
  #pool: Pool;
  #options: NodeOptions & { leaseMs: number };
  #writer = new ErrorWriter(ERROR_TYPES);
  #stopping = false;
  #slots: Promise<void>[];
  #stopped: Promise<void> | null = null;

  constructor(
    nc: NatsConnection,
    consumer: Consumer,
    pool: Pool,
    options: NodeOptions & { leaseMs: number },
  ) {
    this.#nc = nc;
    this.#consumer = consumer;
    this.#pool = pool;
    this.#options = options;
    // One pull loop per worker: a node asks for a chunk only when a slot is
    // free, so no chunk waits in a buffer while its lease runs out.
    this.#slots = Array.from({ length: options.workers }, () => this.#slot());
  }

  stop(): Promise<void> {
    this.#stopping = true;
    this.#stopped ??= (async () => {
      await Promise.allSettled(this.#slots);
      await this.#pool.terminate();
      await this.#nc.drain().catch(() => this.#nc.close());
    })();
    return this.#stopped;
  }

  async #slot(): Promise<void> {
    while (!this.#stopping) {
      let msg: JsMsg | null;
      try {
        msg = await this.#consumer.next({ expires: 1000 });
      } catch {
        if (this.#stopping) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
        continue;
      }
      if (msg !== null) await this.#handle(msg);
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    // Renews the lease while the chunk is held: a node that dies stops
    // renewing, and the chunk goes to another node once the lease lapses.
    const heartbeat = setInterval(() => msg.working(), Math.max(50, this.#options.leaseMs / 4));
    try {
      let chunk: ChunkMessage;
      try {
        chunk = decode<ChunkMessage>(msg.data);
      } catch {
        msg.term("not a chunk");
        return;
      }
      const wanted = await this.#ask(chunk.reply, {
        type: "wanted",
        call: chunk.call,
        chunk: chunk.chunk,
      });
      if (wanted === "gone" || (wanted instanceof Uint8Array && wanted[0] !== 1)) {
        // The caller is gone or no longer wants it: drop it.
        msg.ack();
        return;
      }
      if (wanted === "late") {
        msg.nak(1000);
        return;
      }
      const start = Recorder.now();
      const outcomes = await this.#run(chunk);
      const answer = await this.#ask(chunk.reply, this.#result(chunk, outcomes, start));
      // Delivered, or the caller is gone: done with. No answer in time: it runs again.
      if (answer === "late") msg.nak();
      else msg.ack();
    } finally {
      clearInterval(heartbeat);
    }
  }

  /**
   * The chunk's result message. Results over the server's `max_payload`
   * could never be sent, and the chunk would run again and again: the
   * chunk fails instead, saying why.
   */
  #result(chunk: ChunkMessage, outcomes: Outcome[], start: number): NodeRequest {
    const result = {
      type: "result" as const,
      call: chunk.call,
      chunk: chunk.chunk,
      outcomes,
      node: this.#options.name ?? String(Deno.pid),
      start,
      end: Recorder.now(),
    };
    const limit = this.#nc.info?.max_payload ?? 1024 * 1024;
    let size: number;
    try {
      size = encode(result).length;
    } catch (error) {
      return { ...result, outcomes: [this.#failure(0, error)] };
    }
    if (size <= limit - 1024) return result;
    const error = new RangeError(
      `The chunk's results take ${size} bytes, over the server's max_payload of ${limit}: ` +
        `use a smaller chunkSize, or raise max_payload`,
    );
    return { ...result, outcomes: [this.#failure(0, error)] };
  }

  /** Asks the caller; `"gone"` when no one listens on its inbox, `"late"` when no answer came. */
  async #ask(reply: string, request: NodeRequest): Promise<Uint8Array | "gone" | "late"> {
    try {
      return (await this.#nc.request(reply, encode(request), { timeout: ANSWER_TIMEOUT_MS })).data;
    } catch (error) {
      return isNoResponders(error) ? "gone" : "late";
    }
  }

  async #run(chunk: ChunkMessage): Promise<Outcome[]> {
    const refusal = this.#refusal(chunk.fn);
    if (refusal !== null) {
      return [{
        offset: 0,
        ok: false,
        kind: "refused",
        error: this.#writer.write(new Deno.errors.NotCapable(refusal)),
        workerId: 0,
      }];
    }
    const task = taskOf(chunk.fn);
    try {
      if (chunk.spread) {
        const values = await this.#pool.map(task.spread, chunk.items as unknown[][]);
        return values.map((value, offset) => ({ offset, ok: true, value }));
      }
      const settled = await this.#pool.mapSettled(task.single, chunk.items);
      return settled.map((outcome, offset) =>
        outcome.status === "fulfilled"
          ? { offset, ok: true, value: outcome.value }
          : this.#failure(offset, outcome.reason)
      );
    } catch (error) {
      return [this.#failure(error instanceof TaskError ? error.index : 0, error)];
    }
  }

  #failure(offset: number, error: unknown): Outcome {
    const crash = error instanceof WorkerCrashedError;
    return {
      offset: crash || error instanceof TaskError ? error.index : offset,
      ok: false,
      kind: crash ? "crash" : "task",
      error: this.#writer.write(
        error instanceof Error && error.cause !== undefined ? error.cause : error,
      ),
      workerId: crash || error instanceof TaskError ? error.workerId : 0,
    };
  }

  /** Why this node will not run `fn`, or `null` when it will. */
  #refusal(fn: FunctionSpec): string | null {
    if (fn.kind === "source") {
      return this.#options.allowSource
        ? null
        : "This node runs no function shipped as source: start it with --allow-source, " +
          "or run a module task it allows (--modules)";
    }
    const prefixes = this.#options.modules ?? [];
    return prefixes.some((prefix) => fn.url.startsWith(prefix))
      ? null
      : `This node runs no task of module ${fn.url}: its --modules prefixes are ${
        prefixes.length === 0 ? "none" : prefixes.join(", ")
      }`;
  }
}

function isNoResponders(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e.name === "NoRespondersError") return true;
    const check = (e as { isNoResponders?: () => boolean }).isNoResponders;
    if (typeof check === "function" && check.call(e)) return true;
  }
  return false;
}

/**
 * The chunk's function as module tasks of the local pool: one that takes
 * an item, one that takes an argument list. A source is compiled inside the
 * worker, never in this program, which holds the node's network access: the
 * module that wraps it carries it as a string.
 */
function taskOf(fn: FunctionSpec): {
  single: ModuleTask<(item: unknown) => unknown>;
  spread: ModuleTask<(args: unknown[]) => unknown>;
} {
  const body = fn.kind === "source"
    ? `const source = ${JSON.stringify(fn.source)};
const sourceUrl = ${JSON.stringify(`\n//# sourceURL=task:${fn.name || "anonymous"}\n`)};
let fn;
try {
  fn = new Function("return (" + source + "\\n);" + sourceUrl)();
} catch (error) {
  if (!(error instanceof SyntaxError)) throw error;
  fn = Object.values(new Function("return ({" + source + "\\n});" + sourceUrl)())[0];
}`
    : `import * as module from ${JSON.stringify(fn.url)};
const fn = module[${JSON.stringify(fn.exportName)}];
if (typeof fn !== "function") throw new TypeError(${
      JSON.stringify(`Module ${fn.url} has no function export "${fn.exportName}"`)
    });`;
  const url = `data:text/javascript,${
    encodeURIComponent(`${body}
export const single = (item) => fn(item);
export const spread = (args) => fn(...args);
`)
  }`;
  return { single: new ModuleTask(url, "single"), spread: new ModuleTask(url, "spread") };
}

const HELP = `A node of a cluster pool: runs the chunks of a NATS JetStream stream.

Usage: deno run --allow-net=HOST:PORT [--allow-read=...] lib/cluster/node.ts [options]

Pulls chunks from the work-queue stream, as many as it has free workers,
runs them on a local pool and sends each result to its caller. Tasks get no
permissions unless granted below, and only allowed tasks run.

Options:
  --server URL       NATS server (repeatable; default nats://127.0.0.1:4222)
  --workers N        local workers, and chunks held at once (default: CPU count)
  --stream NAME      the work-queue stream (default POOL_CHUNKS)
  --lease MS         a chunk held this long without a heartbeat goes to another
                     node (default 10000; used when the consumer is made)
  --max-deliver N    deliveries of a chunk before it is given up (default 5)
  --allow-source     run functions shipped as source (anyone who can publish
                     to the stream can then run code on this node)
  --modules PREFIX   run module tasks whose URL starts with PREFIX (repeatable)
  --task-read PATH   let tasks read PATH (repeatable; module files need it)
  --task-net HOST    let tasks reach HOST (repeatable)
  --isolation KIND   thread (default) or process
  --name NAME        the node's name in timelines (default: its process id)
  --user NAME        NATS user, with --pass
  --pass SECRET      NATS password
  --token TOKEN      NATS token
  -h, --help         show this help`;

const FLAGS = {
  server: { type: "string", multiple: true },
  workers: { type: "string" },
  stream: { type: "string" },
  lease: { type: "string" },
  "max-deliver": { type: "string" },
  "allow-source": { type: "boolean" },
  modules: { type: "string", multiple: true },
  "task-read": { type: "string", multiple: true },
  "task-net": { type: "string", multiple: true },
  isolation: { type: "string" },
  name: { type: "string" },
  user: { type: "string" },
  pass: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/**
 * Runs a node with command-line `args` until SIGINT or SIGTERM (or `stop`
 * aborts); resolves with the exit code.
 *
 * @param args The command line.
 * @param io Where to write.
 * @param stop Ends the node when aborted.
 * @returns The exit code.
 */
export async function main(args: string[], io: Lines, stop?: AbortSignal): Promise<number> {
  const values = parseFlags(args, FLAGS);
  if (values.help) {
    io.out(HELP);
    return 0;
  }
  const list = (value: unknown): string[] => (Array.isArray(value) ? value : []) as string[];
  const isolation = values.isolation ?? "thread";
  if (isolation !== "thread" && isolation !== "process") {
    throw new UsageError(`--isolation must be thread or process, got ${JSON.stringify(isolation)}`);
  }
  const stream = typeof values.stream === "string" ? values.stream : DEFAULTS.stream;
  if (!/^[A-Za-z0-9_-]+$/.test(stream)) {
    throw new UsageError(
      `--stream must be letters, digits, "_" and "-", got ${JSON.stringify(stream)}`,
    );
  }
  const read = list(values["task-read"]);
  const net = list(values["task-net"]);
  const options: NodeOptions = {
    nats: {
      servers: list(values.server).length > 0 ? list(values.server) : "nats://127.0.0.1:4222",
      ...(typeof values.user === "string" ? { user: values.user } : {}),
      ...(typeof values.pass === "string" ? { pass: values.pass } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    },
    workers: integerFlag(
      "workers",
      values.workers,
      navigator.hardwareConcurrency,
      {
        min: 1,
        max: 1024,
      },
    ),
    stream,
    leaseMs: integerFlag("lease", values.lease, DEFAULTS.leaseMs, {
      min: 100,
      max: 3_600_000,
    }),
    maxDeliver: integerFlag(
      "max-deliver",
      values["max-deliver"],
      DEFAULTS.maxDeliver,
      { min: 1, max: 1000 },
    ),
    allowSource: values["allow-source"] === true,
    modules: list(values.modules),
    permissions: read.length + net.length === 0 ? "none" : {
      read: read.length > 0 ? read : false,
      net: net.length > 0 ? net : false,
    },
    isolation,
    ...(typeof values.name === "string" ? { name: values.name } : {}),
  };
  let node: NodeHandle;
  try {
    node = await runNode(options);
  } catch (error) {
    // Not a usage error, and no bug: the server is down, refuses us, or has no JetStream.
    io.err(
      `error: cannot start the node: ${error instanceof Error ? error.message : String(error)}`,
    );
    return 1;
  }
  io.err(`node: pulling from ${stream} with ${options.workers} workers`);
  const stopped = new Promise<void>((resolve) => {
    const onSignal = () => resolve();
    stop?.addEventListener("abort", onSignal, { once: true });
    if (stop === undefined) {
      Deno.addSignalListener("SIGINT", onSignal);
      Deno.addSignalListener("SIGTERM", onSignal);
    }
  });
  await stopped;
  await node.stop();
  return 0;
}

if (import.meta.main) {
  const lines: Lines = { out: (line) => console.log(line), err: (line) => console.error(line) };
  Deno.exit(await runMain((args, io) => main(args, io), Deno.args, lines));
}
