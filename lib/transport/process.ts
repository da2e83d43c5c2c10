/**
 * Workers as separate Deno processes: what a thread cannot give, a process
 * can. The operating system stops a process however busy it is (Deno's
 * `Worker.terminate()` cannot stop a thread in an endless synchronous loop),
 * V8 limits each process's heap on its own (a thread that runs out of memory
 * ends the whole program), and the permissions it is started with are the
 * only ones it has.
 *
 * A process shares no memory with the pool: no claims (a chunk it was sent
 * cannot be taken back, so the engine leaves it where it is), no stop flag
 * (ending it is killing it), no stay-awake wait. Messages cross its standard
 * input and output as frames (see `_frames.ts`); what its tasks print goes
 * to its standard error, passed on to the pool's.
 *
 * @module
 */

import { encodeFrame, FrameReader } from "../_frames.ts";
import type { ChunkItems, ChunkResult, FromWorker, RunChunk, ToWorker } from "../_protocol.ts";
import type { Claim, LinkListener, TakeBack, Transport, WorkerLink, WorkerStart } from "./link.ts";

/** How a pool's processes are started. */
export interface ProcessOptions {
  /** What the processes may reach, as Deno's `--allow-*` flags grant it. */
  readonly permissions: Deno.PermissionOptions | undefined;
  /** The V8 heap limit of each process, in MB (`--max-old-space-size`), or none. */
  readonly maxOldGenerationSizeMb: number | undefined;
}

/** The program each process runs. */
const HOST = new URL("../worker/process/main.ts", import.meta.url);
/** What V8 prints on its way out when a heap reaches its limit. */
const OUT_OF_MEMORY = "Fatal JavaScript out of memory";
/** The end of a process's standard error kept to tell why it ended. */
const STDERR_TAIL = 4096;

/** Starts a pool's workers as `deno` processes. */
export class ProcessTransport implements Transport {
  #args: string[];
  #limitMb: number | undefined;
  /** Each started process's `done`, until it resolves. */
  #live = new Set<Promise<void>>();

  constructor(options: ProcessOptions) {
    this.#limitMb = options.maxOldGenerationSizeMb;
    this.#args = [
      "run",
      "--quiet",
      "--no-prompt",
      ...permissionFlags(options.permissions),
      ...(this.#limitMb === undefined ? [] : [`--v8-flags=--max-old-space-size=${this.#limitMb}`]),
      HOST.href,
    ];
  }

  start(worker: WorkerStart, listener: LinkListener): WorkerLink {
    const link = new ProcessLink(worker, listener, { args: this.#args, limitMb: this.#limitMb });
    this.#live.add(link.done);
    link.done.then(() => this.#live.delete(link.done));
    return link;
  }

  async settled(): Promise<void> {
    await Promise.all(this.#live);
  }
}

/** One worker process and the pipes to it. */
class ProcessLink implements WorkerLink {
  /** Resolves once the process has ended and its pipes are closed. */
  readonly done: Promise<void>;
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #listener: LinkListener;
  #limitMb: number | undefined;
  #alive = true;
  /** Frames waiting for the pipe, written in order by `#drain`. */
  #outbox: Uint8Array[] = [];
  #draining = false;
  #stderrTail = "";

  constructor(
    start: WorkerStart,
    listener: LinkListener,
    { args, limitMb }: { readonly args: string[]; readonly limitMb: number | undefined },
  ) {
    this.#listener = listener;
    this.#limitMb = limitMb;
    this.#child = spawn(args);
    this.#writer = this.#child.stdin.getWriter();
    // Why it ended is decided once its output is read to the end: a worker
    // that dies says so in a last message, which may still be in the pipe
    // when the exit status arrives.
    this.done = Promise.all([
      this.#child.status,
      this.#read(this.#child.stdout),
      this.#passOn(this.#child.stderr),
    ]).then(([status]) => this.#ended(status))
      .then(() => this.#writer.close())
      .catch(() => this.#writer.abort())
      .catch(() => {});
    this.post({
      type: "init",
      workerId: start.id,
      // Never set: a process is stopped by ending it.
      stop: new Int32Array(1),
      initializer: start.initializer,
      initArgs: start.initArgs,
    });
  }

  /** A process shares no claims: a chunk sent to it cannot be taken back. */
  claim(_chunk: Claim): void {}

  post(message: ToWorker): void {
    // Encoded now, so a value that cannot be cloned throws to the caller,
    // as `postMessage` does.
    const frame = encodeFrame(Array.isArray(message) ? message.map(unshared) : message);
    if (!this.#alive) return;
    this.#outbox.push(frame);
    if (!this.#draining) this.#drain();
  }

  takeBack(_chunk: Readonly<Claim>): TakeBack {
    return "unknown";
  }

  /** None: no memory is shared with a process, whose worker sends what it holds before each chunk. */
  readBoard(): ChunkResult[] {
    return [];
  }

  terminate(): void {
    if (!this.#alive) return;
    this.#alive = false;
    this.#outbox.length = 0;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // It had ended already.
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#outbox.length > 0 && this.#alive) {
        const frames = this.#outbox.splice(0);
        for (const frame of frames) await this.#writer.write(frame);
      }
    } catch {
      // The pipe broke: the process has ended, and `#ended` says how.
    } finally {
      this.#draining = false;
    }
  }

  async #read(stdout: ReadableStream<Uint8Array>): Promise<void> {
    const frames = new FrameReader();
    try {
      for await (const bytes of stdout) {
        if (!this.#alive) continue;
        frames.push(bytes, (message) => {
          if (this.#alive) this.#listener.onMessage(message as FromWorker);
        });
      }
    } catch (error) {
      if (this.#alive) this.#fail(`a message from the worker process could not be read: ${error}`);
    }
  }

  /** Passes the process's standard error on to the pool's, keeping its end. */
  async #passOn(stderr: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const bytes of stderr) {
      this.#stderrTail = (this.#stderrTail + decoder.decode(bytes, { stream: true }))
        .slice(-STDERR_TAIL);
      // Not once it was ended on purpose, nor V8's dump on running out of
      // memory: the pool reports both as errors of their own.
      if (this.#alive && !this.#stderrTail.includes(OUT_OF_MEMORY)) {
        await Deno.stderr.write(bytes);
      }
    }
  }

  #ended(status: Deno.CommandStatus): void {
    if (!this.#alive) return;
    const reason = this.#stderrTail.includes(OUT_OF_MEMORY)
      ? `the worker process ran out of memory at its heap limit of ${
        this.#limitMb === undefined ? "V8's default" : `${this.#limitMb} MB`
      } (resourceLimits.maxOldGenerationSizeMb)`
      : status.signal !== null
      ? `the worker process was ended by ${status.signal}`
      : `the worker process exited with code ${status.code}`;
    this.#fail(reason);
  }

  #fail(reason: string): void {
    this.#alive = false;
    this.#listener.onFailure(reason);
  }
}

/**
 * Starts a worker process. Throws when the program may not run Deno, saying
 * which grant it needs: the pool is then refused as a whole.
 */
function spawn(args: string[]): Deno.ChildProcess {
  try {
    return new Deno.Command(Deno.execPath(), {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotCapable)) throw error;
    throw new Deno.errors.NotCapable(
      `Cannot start a worker process as the program may not run Deno: ` +
        `isolation "process" needs --allow-run=${Deno.execPath()}`,
      { cause: error },
    );
  }
}

/**
 * A chunk whose items sit in shared memory, with a copy of them instead: a
 * process cannot share the pool's memory.
 */
function unshared(chunk: RunChunk): RunChunk {
  const items: ChunkItems = chunk[6];
  if (Array.isArray(items) || !(items.buffer instanceof SharedArrayBuffer)) return chunk;
  return [chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], items.slice()];
}

/** The kinds of permission Deno grants with an `--allow-*` flag. */
const KINDS = ["read", "write", "net", "env", "run", "ffi", "sys"] as const;

/**
 * Deno's `--allow-*` flags for a pool's `permissions`: none for `"none"`;
 * each kind an object grants; for `"inherit"` (`undefined`), each kind the
 * program holds in full (a grant of some paths or hosts only cannot be read
 * back, so it is not passed on).
 */
export function permissionFlags(permissions: Deno.PermissionOptions | undefined): string[] {
  if (permissions === "none") return [];
  if (permissions === undefined || permissions === "inherit") {
    return KINDS.filter((name) => Deno.permissions.querySync({ name }).state === "granted")
      .map((name) => `--allow-${name}`);
  }
  const grants = permissions as Record<string, unknown>;
  const flags: string[] = [];
  for (const name of KINDS) {
    const grant = grants[name];
    const held = grant === "inherit" && Deno.permissions.querySync({ name }).state === "granted";
    if (grant === true || held) flags.push(`--allow-${name}`);
    else if (Array.isArray(grant) && grant.length > 0) {
      flags.push(`--allow-${name}=${grant.map(grantText).join(",")}`);
    }
  }
  return flags;
}

/** A path, host or name of a grant as a flag spells it. */
function grantText(grant: unknown): string {
  return grant instanceof URL ? decodeURIComponent(grant.pathname) : String(grant);
}
