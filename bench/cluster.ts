/**
 * The cluster comparisons' own NATS JetStream server and node processes
 * (`lib/cluster/node.ts`, started by its command line), for one comparison:
 * started before its first round, stopped after its last, and stopped too
 * when it throws or the bench is interrupted (Ctrl-C, SIGTERM). The server
 * keeps its store in a folder of its own, deleted at the end.
 *
 * Also what the bench's main process needs to run them: whether
 * `nats-server` is there, and the permissions a cluster comparison's
 * process gets.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { EXIT_CODES, onInterrupt } from "./interrupt.ts";

const ROOT = new URL("../", import.meta.url);
const NODE = new URL("lib/cluster/node.ts", ROOT);

/** The program the cluster comparisons need. */
export const NATS_SERVER = "nats-server";

/** How long a server or a node may take to start before the comparison fails. */
const START_LIMIT_MS = 60_000;

/** Whether `name` is a cluster comparison: those need `nats-server`. */
export function isClusterComparison(name: string): boolean {
  return name === "cluster" || name.startsWith("cluster:");
}

/**
 * Why `nats-server` cannot run here, or `undefined` when it can: not
 * installed, or no permission to run it.
 */
export async function natsServerMissing(): Promise<string | undefined> {
  // Deno grants `--allow-run=nats-server` only if it finds the program on the PATH, so a run
  // that may not start it has either no nats-server or no such flag; asking would prompt.
  const permission = await Deno.permissions.query({ name: "run", command: NATS_SERVER });
  if (permission.state !== "granted") {
    return `${NATS_SERVER} not found on the PATH (or not allowed to run: deno task bench allows it)`;
  }
  try {
    const { success } = await new Deno.Command(NATS_SERVER, {
      args: ["--version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success ? undefined : `${NATS_SERVER} --version failed`;
  } catch {
    return `${NATS_SERVER} not found`;
  }
}

/** The one line the bench prints when it skips the cluster comparisons. */
export function skippedNote(why: string, skipped: readonly string[]): string {
  return `${why}: ${skipped.join(", ")} skipped; to run them, install ${NATS_SERVER} ` +
    `(apt-get install nats-server, or https://nats.io/download/) and put it on the PATH`;
}

/**
 * Where a cluster comparison's server keeps its store: a new folder in
 * `tempRoot`, named here (not made) so that the comparison's process can be
 * allowed to write there and nowhere else.
 */
export function storePath(tempRoot: string): string {
  return `${tempRoot.replace(/\/+$/, "")}/pool-bench-nats-${crypto.randomUUID()}`;
}

/**
 * The permission flags of the process that runs comparison `name`. The
 * others run Python and Deno; a cluster comparison runs `nats-server` and
 * node processes (`execPath`), reaches them on 127.0.0.1, and writes only
 * its server's store, `store`.
 */
export function comparisonFlags(
  name: string,
  { execPath, store }: { execPath: string; store: string },
): string[] {
  if (!isClusterComparison(name)) return [`--allow-run=python3,deno,${execPath}`];
  return [
    `--allow-run=${NATS_SERVER},${execPath}`,
    "--allow-net=127.0.0.1",
    `--allow-write=${store}`,
  ];
}

/** `1 node × 2 workers`: what a cluster contender runs on. */
export function layout(nodes: number, workers: number): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  return `${plural(nodes, "node")} × ${plural(workers, "worker")}`;
}

/** How to start a node. */
export interface NodeSpec {
  /** `--workers`: its local workers, and the chunks it holds at once. */
  readonly workers: number;
  /** `--stream`: nodes on another stream never take this one's chunks. */
  readonly stream: string;
  /** `--lease` in ms; the node's default when absent. */
  readonly leaseMs?: number;
  /** Further flags: `--allow-source`, `--task-net HOST`, ... */
  readonly flags?: readonly string[];
}

/** The arguments of `deno` that start a node on `server` (see docs/cluster.md). */
export function nodeArgs(server: string, spec: NodeSpec): string[] {
  return [
    "run",
    "--allow-net=127.0.0.1",
    `--allow-read=${fileURLToPath(ROOT)}`,
    fileURLToPath(NODE),
    "--server",
    server,
    "--workers",
    String(spec.workers),
    "--stream",
    spec.stream,
    ...(spec.leaseMs === undefined ? [] : ["--lease", String(spec.leaseMs)]),
    ...(spec.flags ?? []),
  ];
}

/** The client port in `nats-server`'s log ("Listening for client connections on HOST:PORT"). */
export function clientPort(log: string): number | undefined {
  const match = /Listening for client connections on \S+:(\d+)/.exec(log);
  return match ? Number(match[1]) : undefined;
}

/** A process whose standard error is read to the end, so that it never blocks on a full pipe. */
interface Started {
  readonly process: Deno.ChildProcess;
  /** Resolves once its standard error has ended. */
  readonly drained: Promise<void>;
}

/**
 * Reads `process`'s standard error until it matches `ready`, then keeps
 * reading it in the background; resolves with what it read by then.
 * Throws if the process ends first, or after `START_LIMIT_MS`.
 */
async function startedWhen(
  process: Deno.ChildProcess,
  ready: RegExp,
  what: string,
): Promise<{ text: string; drained: Promise<void> }> {
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const lastLine = (text: string) => text.trim().split("\n").at(-1) ?? "";
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not start in ${START_LIMIT_MS / 1000} s`)),
      START_LIMIT_MS,
    );
  });
  try {
    while (!ready.test(text)) {
      const { value, done } = await Promise.race([reader.read(), late]);
      if (done) throw new Error(`${what} ended before it started: ${lastLine(text)}`);
      text += value;
    }
  } catch (error) {
    await reader.cancel().catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const drained = (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {
      // The pipe broke as the process was killed: nothing left to read.
    }
  })();
  return { text, drained };
}

/** Kills a process if it still runs and waits until it has ended and its pipe is read. */
async function end(started: Started): Promise<void> {
  try {
    started.process.kill("SIGKILL");
  } catch {
    // It has ended already.
  }
  await started.process.status;
  await started.drained;
}

/** A node process of a {@linkcode LocalCluster}. */
export interface ClusterNode {
  /** Its process id, as its node name. */
  readonly pid: number;
}

/**
 * A `nats-server -js` on 127.0.0.1 (a port it picks) and node processes,
 * all ended by `[Symbol.asyncDispose]()`, or on SIGINT or SIGTERM, which
 * then also exit the process with the signal's code.
 */
export class LocalCluster {
  #url = "";
  #store: string;
  /** Whether `start` made the store: one it did not make is never deleted. */
  #madeStore = false;
  #server: Started | null = null;
  #nodes = new Map<ClusterNode, Started>();
  #ended: Promise<void> | null = null;
  #unlisten: () => void;

  private constructor(store: string) {
    this.#store = store;
    // From the first moment: a Ctrl-C while the server starts must not leave it behind.
    this.#unlisten = onInterrupt((signal) => {
      this[Symbol.asyncDispose]().finally(() => Deno.exit(EXIT_CODES[signal]));
    });
  }

  /** `nats://127.0.0.1:PORT`. */
  get url(): string {
    return this.#url;
  }

  /**
   * Makes the folder `store` (which must not exist) and starts the server
   * there; resolves once it accepts clients.
   */
  static async start(store: string): Promise<LocalCluster> {
    const cluster = new LocalCluster(store);
    try {
      await Deno.mkdir(store, { mode: 0o700 });
      cluster.#madeStore = true;
      const process = new Deno.Command(NATS_SERVER, {
        args: ["-js", "-a", "127.0.0.1", "-p", "-1", "-sd", store],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      cluster.#server = { process, drained: Promise.resolve() };
      const { text, drained } = await startedWhen(process, /Server is ready/, NATS_SERVER);
      cluster.#server = { process, drained };
      const port = clientPort(text);
      if (port === undefined) throw new Error(`${NATS_SERVER} did not say its port`);
      cluster.#url = `nats://127.0.0.1:${port}`;
      return cluster;
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
  }

  /** Starts a node and resolves once it pulls chunks. */
  async startNode(spec: NodeSpec): Promise<ClusterNode> {
    if (this.#ended) throw new Error("the cluster has ended");
    const process = new Deno.Command(Deno.execPath(), {
      args: nodeArgs(this.#url, spec),
      cwd: fileURLToPath(ROOT),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const node: ClusterNode = { pid: process.pid };
    this.#nodes.set(node, { process, drained: Promise.resolve() });
    const { drained } = await startedWhen(process, /node: pulling/, `node ${process.pid}`);
    this.#nodes.set(node, { process, drained });
    return node;
  }

  /** Kills a node with SIGKILL, as a machine that dies, and resolves once it has ended. */
  async kill(node: ClusterNode): Promise<void> {
    const started = this.#nodes.get(node);
    if (started === undefined) return;
    await end(started);
    this.#nodes.delete(node);
  }

  /** Kills every node, then the server, and deletes the server's store. */
  [Symbol.asyncDispose](): Promise<void> {
    this.#ended ??= (async () => {
      await Promise.all([...this.#nodes.values()].map(end));
      this.#nodes.clear();
      if (this.#server) await end(this.#server);
      this.#unlisten();
      if (!this.#madeStore) return;
      await Deno.remove(this.#store, { recursive: true }).catch((error) => {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      });
    })();
    return this.#ended;
  }
}

/**
 * Where the recovery comparison's tasks wait: each task connects here and
 * is held until {@linkcode Gate.release}; from then on every connection is
 * let go at once. It notes when each connection arrived, so the bench sees
 * when a chunk starts, and starts again, on whichever node.
 */
export class Gate {
  readonly port: number;
  #listener: Deno.TcpListener;
  #held: Deno.Conn[] = [];
  #arrivals: number[] = [];
  #released = false;
  #closed = false;
  #accepting: Promise<void>;
  /** Connections being let go: written to, then closed. */
  #leaving = new Set<Promise<void>>();

  constructor() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.port = listener.addr.port;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) {
          this.#arrivals.push(performance.now());
          if (this.#released) this.#letGo(conn);
          else this.#held.push(conn);
        }
      } catch {
        // The listener was closed.
      }
    })();
  }

  /** When each connection since the last `reset()` arrived, by `performance.now()`. */
  get arrivals(): readonly number[] {
    return this.#arrivals;
  }

  /** Resolves once `count` connections have arrived since the last `reset()`. */
  async arrived(count: number, limitMs: number): Promise<void> {
    const deadline = performance.now() + limitMs;
    while (this.#arrivals.length < count) {
      if (this.#closed) throw new Error("the gate was closed");
      if (performance.now() > deadline) {
        throw new Error(`${count} tasks did not start in ${limitMs / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Lets go every task held, and every later one at once. */
  release(): void {
    this.#released = true;
    for (const conn of this.#held.splice(0)) this.#letGo(conn);
  }

  /** Holds tasks again, and forgets the arrivals. */
  reset(): void {
    this.#released = false;
    this.#arrivals = [];
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of this.#held.splice(0)) conn.close();
    this.#listener.close();
    await this.#accepting;
    await Promise.all(this.#leaving);
  }

  #letGo(conn: Deno.Conn): void {
    const leaving = (async () => {
      try {
        await conn.write(new Uint8Array([1]));
      } catch {
        // The task's node is gone, and its end of the connection with it.
      }
      try {
        conn.close();
      } catch {
        // Closed already.
      }
    })();
    this.#leaving.add(leaving);
    leaving.finally(() => this.#leaving.delete(leaving));
  }
}

/**
 * A task held at a {@linkcode Gate} on `port` until it is released; shipped
 * to the nodes as source, so it uses nothing from outside it. Its node needs
 * `--task-net 127.0.0.1`.
 */
export async function heldTask(port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.read(new Uint8Array(1));
  } finally {
    conn.close();
  }
  return port;
}
