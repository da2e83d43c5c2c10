/**
 * Test helper: a NATS JetStream server and node processes for the cluster
 * tests, all stopped when the cluster is disposed. Where `nats-server` is
 * not installed, the cluster tests are ignored, and one line says so
 * ({@linkcode announceMissingServer}).
 *
 * @module
 */

import { needs } from "./_needs.ts";

const ROOT = new URL("../", import.meta.url);
const SCRATCH = new URL(".scratch/", ROOT);
const NODE = new URL("lib/cluster/node.ts", ROOT);

/** The permissions a cluster test needs: to run the server and nodes, reach them, keep data. */
const PERMISSIONS: Deno.PermissionDescriptor[] = [
  { name: "run" },
  { name: "net", host: "127.0.0.1" },
  { name: "read", path: "." },
  { name: "write", path: ".scratch" },
];

/** Whether `nats-server` runs here; asked only when the tests may run programs. */
async function serverInstalled(): Promise<boolean> {
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") return false;
  try {
    const { success } = await new Deno.Command("nats-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

const installed = await serverInstalled();

/** Gates a cluster test on its permissions and on `nats-server`. */
export function clusterTest(name: string): { name: string; ignore: boolean } {
  const gate = needs(name, ...PERMISSIONS);
  if (gate.ignore || installed) return gate;
  return { name: `${name} (needs nats-server)`, ignore: true };
}

/**
 * Prints the one line that says the cluster tests cannot run here and how
 * to fix it, where the tests may run programs but `nats-server` is missing.
 * One test module calls it, so a run prints it once.
 */
export function announceMissingServer(): void {
  if (installed || needs("", ...PERMISSIONS).ignore) return;
  console.warn(
    "cluster tests ignored (tests/cluster_test.ts, tests/cluster_fault_test.ts, " +
      "tests/cluster_chaos_test.ts): " +
      "nats-server is not installed; apt-get install nats-server",
  );
}

/** How to start a node. */
export interface NodeSpec {
  readonly workers?: number;
  readonly leaseMs?: number;
  readonly stream?: string;
  /** Further flags: `--allow-source`, `--modules PREFIX`, ... */
  readonly flags?: readonly string[];
}

/** A server and its nodes. */
export class Cluster {
  readonly url: string;
  #port: number;
  #server: Deno.ChildProcess | null;
  #dir: URL;
  #serverArgs: readonly string[];
  #nodes: { process: Deno.ChildProcess; drained: Promise<void> }[] = [];

  private constructor(port: number, dir: URL, serverArgs: readonly string[]) {
    this.url = `nats://127.0.0.1:${port}`;
    this.#port = port;
    this.#server = null;
    this.#dir = dir;
    this.#serverArgs = serverArgs;
  }

  /**
   * Starts `nats-server -js` on a free port, with its data in a folder of
   * its own; `serverArgs` go to the server too (TLS files, say).
   */
  static async start({ serverArgs = [] }: { serverArgs?: string[] } = {}): Promise<Cluster> {
    await Deno.mkdir(SCRATCH, { recursive: true });
    const dir = new URL(`nats-${crypto.randomUUID()}/`, SCRATCH);
    await Deno.mkdir(dir);
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    listener.close();
    const cluster = new Cluster(port, dir, serverArgs);
    try {
      await cluster.startServer();
    } catch (error) {
      await cluster[Symbol.asyncDispose]();
      throw error;
    }
    return cluster;
  }

  /**
   * Starts the server again after {@linkcode stopServer}, on the same port
   * and with the same store folder, so the stream and its chunks (file
   * storage) are as the server left them; resolves once it takes
   * connections.
   */
  async startServer(): Promise<void> {
    if (this.#server !== null) throw new Error("The server is running");
    this.#server = new Deno.Command("nats-server", {
      args: [
        "-js",
        "-a",
        "127.0.0.1",
        "-p",
        String(this.#port),
        "-sd",
        this.#dir.pathname,
        ...this.#serverArgs,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = this.#server;
    let ended = false;
    server.status.then(() => ended = true);
    for (let tries = 0;; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port: this.#port })).close();
        return;
      } catch (error) {
        // Gone (its port taken?), or never listening: no use waiting on.
        if (ended || tries === 200) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  /**
   * Sends `signal` to the server and waits for it to end: SIGTERM shuts it
   * down in order, SIGKILL as a crash would. Its store folder stays, for
   * {@linkcode startServer}.
   */
  async stopServer(signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const server = this.#server;
    if (server === null) return;
    try {
      server.kill(signal);
    } catch {
      // It has ended already.
    }
    await server.status;
    this.#server = null;
  }

  /** Starts a node process and resolves once it pulls; returns its number. */
  async startNode(spec: NodeSpec = {}): Promise<number> {
    const args = [
      "run",
      "--allow-net=127.0.0.1",
      `--allow-read=${new URL(".", ROOT).pathname}`,
      NODE.pathname,
      "--server",
      this.url,
      "--workers",
      String(spec.workers ?? 2),
      "--lease",
      String(spec.leaseMs ?? 2000),
      ...(spec.stream ? ["--stream", spec.stream] : []),
      ...(spec.flags ?? []),
    ];
    const process = new Deno.Command(Deno.execPath(), {
      args,
      cwd: ROOT,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const lines = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("node: pulling")) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`The node ended before it pulled: ${seen}`);
      seen += value;
    }
    // Keep reading, so the node never blocks on a full pipe.
    const drained = (async () => {
      while (!(await lines.read()).done);
    })();
    this.#nodes.push({ process, drained });
    return this.#nodes.length - 1;
  }

  /**
   * Sends `signal` to node `n` and returns at once: SIGSTOP freezes it,
   * SIGCONT lets it go on. A stopped node still ends at dispose (SIGKILL).
   */
  signalNode(n: number, signal: Deno.Signal): void {
    this.#nodes[n].process.kill(signal);
  }

  /** Sends `signal` to node `n` and waits for it to end. */
  async stopNode(n: number, signal: Deno.Signal = "SIGTERM"): Promise<void> {
    const node = this.#nodes[n];
    try {
      node.process.kill(signal);
    } catch {
      // It has ended already.
    }
    await node.process.status;
    await node.drained;
  }

  /** Stops every node, then the server, and deletes the server's data. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#nodes.map((_, n) => this.stopNode(n, "SIGKILL")));
    await this.stopServer("SIGKILL");
    await Deno.remove(this.#dir, { recursive: true });
  }
}
