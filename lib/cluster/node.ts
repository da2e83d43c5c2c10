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
import type { ConnectOptions, TlsOptions } from "./cluster_pool.ts";
import { type Consumer, jetstream, jetstreamManager, type JsMsg } from "@nats-io/jetstream";
import { ModuleTask, Pool, Recorder } from "../mod.ts";
import type { WorkerPermissions } from "../options.ts";
import { ERROR_TYPES, type FunctionSpec } from "../_protocol.ts";
import { ErrorWriter } from "../_wire.ts";
import { ensureConsumer, ensureStream } from "./_jetstream.ts";
import {
  type Cancel,
  cancelSubject,
  type ChunkMessage,
  decode,
  DEFAULTS,
  encode,
  type Missing,
  type NodeInfo,
  type NodeRequest,
  nodesSubject,
  type Outcome,
  type Plan,
  UNWANTED,
} from "./_messages.ts";
import { ChunkRun, type LocalTask } from "./_chunk_run.ts";
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

/** How long one question waits for its answer before it is asked again. */
const ASK_TIMEOUT_MS = 2_000;

/** Pauses between questions to a caller that no one answers for, before it is taken for gone. */
const GONE_PAUSES_MS = [250, 500, 1000, 2000];

/** Inboxes of callers taken for gone that a node remembers, at most. */
const GONE_REMEMBERED = 10_000;

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
  // Never gives up on a server that is away (the client's default is 10
  // tries): a node whose connection closed would pull no more, for ever.
  const nc = await connect({ maxReconnectAttempts: -1, ...options.nats });
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
      // Each crash goes back to the node, which counts it toward the
      // caller's maxCrashes and tries the item again.
      maxCrashes: 1,
    });
    // The consumer's lease is the one its maker chose, which may not be this
    // node's --lease: heartbeats follow the consumer's, or chunks would lapse
    // while they run.
    const ackWaitNs = (await consumer.info(true)).config.ack_wait;
    const lease = typeof ackWaitNs === "number" && ackWaitNs > 0 ? ackWaitNs / 1e6 : leaseMs;
    const node = new Node(nc, consumer, pool, { ...options, stream, leaseMs: lease });
    return { stop: () => node.stop() };
  } catch (error) {
    await pool?.terminate();
    await nc.close();
    throw error;
  }
}

/** The chunks a node runs, by caller inbox and call: a cancel stops them. */
type Running = Map<string, Set<AbortController>>;

class Node {
  #nc: NatsConnection;
  #consumer: Consumer;
  #pool: Pool;
  #options: NodeOptions & { leaseMs: number; stream: string };
  #writer = new ErrorWriter(ERROR_TYPES);
  #stopping = false;
  #slots: Promise<void>[];
  #stopped: Promise<void> | null = null;
  #running: Running = new Map();
  /** Chunks held now. */
  #busy = 0;
  /** Inboxes of callers taken for gone: their chunks are dropped at once. */
  #gone = new Set<string>();

  constructor(
    nc: NatsConnection,
    consumer: Consumer,
    pool: Pool,
    options: NodeOptions & { leaseMs: number; stream: string },
  ) {
    this.#nc = nc;
    this.#consumer = consumer;
    this.#pool = pool;
    this.#options = options;
    nc.subscribe(cancelSubject(options.stream), {
      callback: (error, msg) => {
        if (error === null) this.#cancel(msg.data);
      },
    });
    nc.subscribe(nodesSubject(options.stream), {
      callback: (error, msg) => {
        if (error !== null) return;
        const info: NodeInfo = {
          name: options.name ?? String(Deno.pid),
          workers: options.workers,
          busy: this.#busy,
          isolation: options.isolation ?? "thread",
          deno: Deno.version.deno,
        };
        msg.respond(encode(info));
      },
    });
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
      if (msg === null) continue;
      this.#busy++;
      try {
        await this.#handle(msg);
      } catch {
        // A fault of this node's own (its connection closing, say): the
        // chunk goes back, and the slot pulls on.
        try {
          msg.nak(1000);
        } catch {
          // The connection is gone: the lease lapses instead.
        }
      } finally {
        this.#busy--;
      }
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    let chunk: ChunkMessage;
    try {
      chunk = decode<ChunkMessage>(msg.data);
    } catch {
      chunk = null as unknown as ChunkMessage;
    }
    if (!isChunk(chunk)) {
      // Anyone who can publish to the stream can put anything there: never
      // run, never delivered again.
      msg.term("not a chunk");
      return;
    }
    const controller = new AbortController();
    const key = `${chunk.reply}\n${chunk.call}`;
    const lease = this.#lease(msg, chunk, controller);
    try {
      const answer = await this.#ask(chunk.reply, {
        type: "wanted",
        call: chunk.call,
        chunk: chunk.chunk,
        first: true,
        delivery: msg.info.deliveryCount,
      });
      if (answer === "late") return msg.nak(1000);
      const plan = answer === "gone" ? null : planOf(answer);
      // The caller is gone or no longer wants it: drop it.
      if (plan === null) return msg.ack();
      let calls = this.#running.get(key);
      if (calls === undefined) this.#running.set(key, calls = new Set());
      calls.add(controller);
      const done = await this.#run(chunk, plan, { signal: controller.signal, lease });
      if (done === "late") msg.nak();
      else msg.ack();
    } finally {
      lease.stop();
      const calls = this.#running.get(key);
      calls?.delete(controller);
      if (calls?.size === 0) this.#running.delete(key);
    }
  }

  /**
   * Renews the chunk's lease while it is held (a node that dies stops
   * renewing, and the chunk goes to another node once the lease lapses),
   * and asks the caller now and then whether it still wants it: a chunk of
   * a caller that is gone, or of a call that ended, is stopped.
   */
  #lease(
    msg: JsMsg,
    chunk: ChunkMessage,
    controller: AbortController,
  ): { stop(): void; run: ChunkRun | null } {
    let asking = false;
    const tick = async () => {
      msg.working();
      if (asking) return;
      asking = true;
      const answer = await this.#ask(chunk.reply, {
        type: "wanted",
        call: chunk.call,
        chunk: chunk.chunk,
        first: false,
      });
      asking = false;
      if (answer === "late") return;
      const plan = answer === "gone" ? null : planOf(answer);
      if (plan === null) controller.abort();
      // Another node that held the chunk may have finished items since.
      else lease.run?.keepOnly(plan.todo);
    };
    const timer = setInterval(tick, Math.max(50, this.#options.leaseMs / 4));
    const lease = { stop: () => clearInterval(timer), run: null as ChunkRun | null };
    return lease;
  }

  /** Runs a chunk's plan and sends its outcomes; `"late"` when the caller did not take them. */
  async #run(
    chunk: ChunkMessage,
    plan: Plan,
    { signal, lease }: { signal: AbortSignal; lease: { run: ChunkRun | null } },
  ): Promise<"done" | "late"> {
    const start = Recorder.now();
    const name = this.#options.name ?? String(Deno.pid);
    const run = new ChunkRun(
      {
        pool: this.#pool,
        workers: this.#options.workers,
        writer: this.#writer,
        name,
        report: (outcomes, crashes) =>
          this.#publish(chunk.reply, {
            type: "progress",
            call: chunk.call,
            chunk: chunk.chunk,
            outcomes,
            crashes,
          }),
      },
      chunk,
      taskOf(chunk.fn),
      { plan, signal },
    );
    lease.run = run;
    try {
      const refusal = this.#refusal(chunk.fn);
      if (refusal !== null) run.refuse(new Deno.errors.NotCapable(refusal));
      else await run.run();
      if (signal.aborted) return "done";
      let { outcomes, crashes } = run.takeUnsent();
      // A progress message lost on the way is sent again, at most twice.
      for (let tries = 0; tries < 3; tries++) {
        const answer = await this.#askAll(chunk.reply, {
          type: "result",
          call: chunk.call,
          chunk: chunk.chunk,
          outcomes,
          crashes,
          node: name,
          start,
          end: Recorder.now(),
          ...(chunk.record ? { stretches: run.stretches } : {}),
        });
        if (!Array.isArray(answer)) return answer;
        outcomes = run.outcomesAt(answer);
        crashes = [];
      }
      return "late";
    } finally {
      run.dispose();
    }
  }

  /**
   * Sends a `result`, split where it is over the server's `max_payload`;
   * or the offsets whose outcomes the caller lacks.
   */
  async #askAll(
    reply: string,
    result: NodeRequest & { type: "result" },
  ): Promise<"done" | "late" | number[]> {
    const [last, ...before] = this.#fit(result.outcomes).reverse();
    for (const outcomes of before.reverse()) {
      this.#publish(reply, {
        type: "progress",
        call: result.call,
        chunk: result.chunk,
        outcomes,
        crashes: [],
      });
    }
    const answer = await this.#ask(reply, { ...result, outcomes: last ?? [] });
    if (answer === "late") return "late";
    if (answer === "gone" || answer.length === 0) return "done";
    try {
      const { missing } = decode<Missing>(answer);
      return Array.isArray(missing) && missing.length > 0 ? missing : "done";
    } catch {
      return "done";
    }
  }

  /** Sends a progress message, split where it is over the server's `max_payload`. */
  #publish(reply: string, progress: NodeRequest & { type: "progress" }): void {
    const parts = this.#fit(progress.outcomes);
    parts.forEach((outcomes, i) => {
      try {
        this.#nc.publish(
          reply,
          encode({ ...progress, outcomes, crashes: i === 0 ? progress.crashes : [] }),
        );
      } catch {
        // The connection is closing: the chunk's last message finds out.
      }
    });
  }

  /**
   * Outcomes in groups that each fit the server's `max_payload`. An outcome
   * too large on its own could never be sent, and its chunk would run again
   * and again: its item fails instead, saying why.
   */
  #fit(outcomes: Outcome[]): Outcome[][] {
    const limit = (this.#nc.info?.max_payload ?? 1024 * 1024) - 1024;
    const size = (list: Outcome[]) => {
      try {
        return encode({ type: "progress", call: "", chunk: 0, outcomes: list, crashes: [] })
          .length;
      } catch {
        return Infinity;
      }
    };
    if (outcomes.length === 0 || size(outcomes) <= limit) return [outcomes];
    if (outcomes.length > 1) {
      const half = outcomes.length >> 1;
      return [...this.#fit(outcomes.slice(0, half)), ...this.#fit(outcomes.slice(half))];
    }
    const [outcome] = outcomes;
    if (outcome.ok && outcome.values.length > 1) {
      // A run too large: its halves go apart.
      const { offset, values } = outcome;
      const half = values.length >> 1;
      const part = (from: number, to: number): Outcome => ({
        offset: offset + from,
        ok: true,
        values: Array.prototype.slice.call(values, from, to),
      });
      return [...this.#fit([part(0, half)]), ...this.#fit([part(half, values.length)])];
    }
    const bytes = size(outcomes);
    const error = bytes === Infinity
      ? new TypeError("The result cannot be sent to the caller (it cannot be serialized)")
      : new RangeError(
        `The result takes ${bytes} bytes, over the server's max_payload of ${limit + 1024}: ` +
          `use a smaller chunkSize, or raise max_payload`,
      );
    return [[{
      offset: outcome.offset,
      ok: false,
      kind: "task",
      error: this.#writer.write(error),
      workerId: 0,
    }]];
  }

  /**
   * Asks the caller; `"late"` when no answer came within
   * {@linkcode ANSWER_TIMEOUT_MS}, `"gone"` when no one listens on its
   * inbox. A question without an answer in {@linkcode ASK_TIMEOUT_MS} is
   * asked again (a server that restarted lost it, or its answer). A caller
   * whose server restarted may not listen again yet: a node asks again for
   * a few seconds before it takes the caller for gone, and then takes every
   * later chunk of that inbox for gone at once (a caller that left many
   * queued chunks costs the wait once).
   */
  async #ask(reply: string, request: NodeRequest): Promise<Uint8Array | "gone" | "late"> {
    const pauses = [...GONE_PAUSES_MS];
    const began = Date.now();
    while (!this.#gone.has(reply)) {
      try {
        return (await this.#nc.request(reply, encode(request), { timeout: ASK_TIMEOUT_MS })).data;
      } catch (error) {
        if (!isNoResponders(error)) {
          // No answer: the question or its answer may have been lost with the
          // connection (a server restarting); asked again, the caller answers
          // the same.
          if (Date.now() - began >= ANSWER_TIMEOUT_MS || this.#stopping) return "late";
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
      }
      if (this.#stopping) return "late";
      const pause = pauses.shift();
      if (pause === undefined) {
        if (this.#gone.size >= GONE_REMEMBERED) this.#gone.clear();
        this.#gone.add(reply);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return "gone";
  }

  /** A caller asks to stop a call: its running chunks end now, and are dropped. */
  #cancel(data: Uint8Array): void {
    let cancel: Cancel;
    try {
      cancel = decode<Cancel>(data);
    } catch {
      return;
    }
    if (typeof cancel?.reply !== "string" || typeof cancel.call !== "string") return;
    for (const controller of this.#running.get(`${cancel.reply}\n${cancel.call}`) ?? []) {
      controller.abort();
    }
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

/** Whether a decoded message has a chunk's shape: what the node reads of it. */
function isChunk(chunk: unknown): chunk is ChunkMessage {
  if (typeof chunk !== "object" || chunk === null) return false;
  const { call, chunk: number, reply, fn, spread, items } = chunk as Record<string, unknown>;
  const spec = fn as Record<string, unknown> | null;
  return typeof call === "string" && Number.isInteger(number) && typeof reply === "string" &&
    reply.length > 0 && typeof spread === "boolean" &&
    (Array.isArray(items) || items instanceof Float64Array) &&
    typeof spec === "object" && spec !== null &&
    (spec.kind === "source"
      ? typeof spec.source === "string"
      : spec.kind === "module" && typeof spec.url === "string" &&
        typeof spec.exportName === "string");
}

/** The caller's plan from its answer; `null` when it no longer wants the chunk. */
function planOf(answer: Uint8Array): Plan | null {
  if (answer.length === 1 && answer[0] === UNWANTED[0]) return null;
  try {
    const plan = decode<Plan>(answer);
    const pair = (crash: unknown) =>
      Array.isArray(crash) && crash.length === 2 && crash.every(Number.isInteger);
    const valid = Array.isArray(plan.todo) && plan.todo.length > 0 &&
      Array.isArray(plan.crashes) && plan.crashes.every(pair) &&
      Number.isInteger(plan.maxCrashes) && plan.maxCrashes > 0;
    return valid ? plan : null;
  } catch {
    return null;
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
function taskOf(fn: FunctionSpec): LocalTask {
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
const worker = globalThis.name?.startsWith?.("pool-worker-")
  ? "w" + globalThis.name.slice(12)
  : "p" + Deno.pid;
const recorded = (run) => {
  const start = performance.timeOrigin + performance.now();
  const value = run();
  const done = (value) => [worker, start, performance.timeOrigin + performance.now(), value];
  return typeof value?.then === "function" ? Promise.resolve(value).then(done) : done(value);
};
export const recordSingle = (item) => recorded(() => fn(item));
export const recordSpread = (args) => recorded(() => fn(...args));
`)
  }`;
  return {
    single: new ModuleTask(url, "single"),
    spread: new ModuleTask(url, "spread"),
    recordSingle: new ModuleTask(url, "recordSingle"),
    recordSpread: new ModuleTask(url, "recordSpread"),
  };
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
  --max-deliver N    deliveries of a chunk before it is given up (default 10)
  --allow-source     run functions shipped as source (anyone who can publish
                     to the stream can then run code on this node)
  --modules PREFIX   run module tasks whose URL starts with PREFIX (repeatable)
  --task-read PATH   let tasks read PATH (repeatable; module files need it)
  --task-net HOST    let tasks reach HOST (repeatable)
  --isolation KIND   thread (default) or process (the node then needs
                     --allow-run for Deno itself)
  --name NAME        the node's name in timelines (default: its process id)
  --user NAME        NATS user, with --pass
  --pass SECRET      NATS password
  --token TOKEN      NATS token
  --tls-ca FILE      TLS: the CA that signed the server's certificate (the
                     node needs --allow-read for each TLS file)
  --tls-cert FILE    TLS: the node's certificate, for servers that verify
                     clients (with --tls-key)
  --tls-key FILE     TLS: the node's key
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
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
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
  const servers = list(values.server);
  for (const server of servers) {
    // What the NATS client takes: a URL (nats://, tls://, ws://) or host:port.
    const url = URL.parse(server.includes("://") ? server : `nats://${server}`);
    if (url === null || url.hostname === "") {
      throw new UsageError(
        `--server must be a URL such as nats://host:4222, got ${JSON.stringify(server)}`,
      );
    }
  }
  const options: NodeOptions = {
    nats: {
      servers: servers.length > 0 ? servers : "nats://127.0.0.1:4222",
      ...(typeof values.user === "string" ? { user: values.user } : {}),
      ...(typeof values.pass === "string" ? { pass: values.pass } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
      ...tlsOf(values),
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
  if (
    isolation === "process" &&
    Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state !== "granted"
  ) {
    throw new UsageError(
      `--isolation process starts Deno for each worker: run the node with --allow-run=${Deno.execPath()}`,
    );
  }
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
  io.err(
    `node: pulling from ${stream} with ${options.workers} ${isolation} workers (Deno ${Deno.version.deno})`,
  );
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

/** The client's TLS options from the `--tls-*` flags, when any is given. */
function tlsOf(values: Record<string, unknown>): { tls?: TlsOptions } {
  const file = (name: string) => typeof values[name] === "string" ? values[name] : undefined;
  const [caFile, certFile, keyFile] = [file("tls-ca"), file("tls-cert"), file("tls-key")];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (caFile === undefined && certFile === undefined) return {};
  return {
    tls: {
      ...(caFile !== undefined ? { caFile } : {}),
      ...(certFile !== undefined ? { certFile, keyFile } : {}),
    },
  };
}

if (import.meta.main) {
  const lines: Lines = { out: (line) => console.log(line), err: (line) => console.error(line) };
  Deno.exit(await runMain((args, io) => main(args, io), Deno.args, lines));
}
