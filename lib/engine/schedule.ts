/**
 * The scheduler's choices, as pure functions: how many chunks a worker may
 * hold (its window), which queued chunks go to which worker in batches of
 * what size, and which idle worker takes what from whom. The dispatcher
 * acts on them; nothing here touches a worker.
 *
 * In one paragraph: chunks wait in one FIFO queue. On each flush every
 * worker with room receives chunks, the least loaded first, in batches of up
 * to half its window, one message each, so that it starts on its next batch
 * while the answer to the last one travels. A worker's window follows the
 * measured chunk time: a worker holds about 2 ms of queued work, and at
 * least two chunks, the one it runs and the next, so it never waits on a
 * round trip between chunks; tiny ones go up to 512 at a time, so the cost of
 * a message is shared by many tasks. A worker answers once per batch. When
 * the queue is empty and a worker has nothing, it takes half the chunks that
 * the busiest worker has not started yet, or its only one (see `RunChunk`
 * for how a chunk is taken back), so no worker sits idle while another has
 * work waiting: as in Python's pool, where each worker takes the next task
 * when it is free.
 *
 * @module
 */

/** Queued work per worker, in ms, that the window aims for. */
export const TARGET_QUEUED_MS = 2;
/** The fewest chunks a worker may hold: the one it runs and the next. */
export const MIN_WINDOW = 2;
/** The most chunks a worker may hold. */
export const MAX_WINDOW = 512;

/** What the scheduler looks at in a worker (`WorkerHandle` is one). */
export interface Load {
  /** Chunks it holds: sent and not yet answered. */
  readonly held: number;
  /** Chunks sent over its life. */
  readonly sent: number;
  /** `true` once it takes no new work. */
  readonly retiring: boolean;
  /** When it was last sent a batch, counted in batches; larger is later. */
  readonly lastSent: number;
}

/** What bounds the chunks a worker may take. */
export interface Limits {
  /** Chunks a worker may hold at once (see `windowFor`). */
  readonly window: number;
  /** Chunks a worker may be sent over its life. */
  readonly maxTasksPerChild: number;
}

/** Which worker takes chunks back from which, and at most how many. */
export interface Rebalance<W extends Load> {
  readonly from: W;
  readonly to: W;
  readonly count: number;
}

/**
 * The running average of chunk times, in ms, after a chunk that took `ms`:
 * weighted a fifth to the newest, so the window follows a change in a few
 * chunks. `average` is negative before the first chunk.
 */
export function averageChunkMs(average: number, ms: number): number {
  return average < 0 ? ms : average * 0.8 + ms * 0.2;
}

/** The window for chunks that take `averageMs` each: about `TARGET_QUEUED_MS` of work. */
export function windowFor(averageMs: number): number {
  const window = Math.ceil(TARGET_QUEUED_MS / Math.max(averageMs, 1e-3));
  return Math.min(MAX_WINDOW, Math.max(MIN_WINDOW, window));
}

/** The most chunks a batch holds: half the window, so the next batch is there as one ends. */
export function batchCap(window: number): number {
  return Math.max(1, window >> 1);
}

/** Chunks `worker` may still take: none once it retires, else what its window and its life allow. */
export function room(worker: Load, limits: Limits): number {
  if (worker.retiring) return 0;
  const byWindow = limits.window - worker.held;
  const byLife = limits.maxTasksPerChild - worker.sent;
  return Math.max(0, Math.min(byWindow, byLife));
}

/**
 * The order in which a flush serves workers: least loaded first; among
 * equals, the one sent to last. It is the one likeliest to be waiting awake
 * for its next message (see `worker/stay_awake.ts`); one that has gone to sleep must
 * first be woken.
 */
export function byLoad(a: Load, b: Load): number {
  return a.held - b.held || b.lastSent - a.lastSent;
}

/**
 * Deals out queued chunks to workers with `rooms[t]` room each, one chunk to
 * each in turn, as `next()` hands them out, until the rooms are full or
 * `next()` has none left. Each worker's chunks go in batches of up to `cap`,
 * a message each. Returns the batches of each worker, by index in `rooms`.
 */
export function planBatches<T>(
  rooms: readonly number[],
  cap: number,
  next: () => T | undefined,
): T[][][] {
  const left = rooms.slice();
  const batches: T[][][] = left.map(() => []);
  let open = left.length;
  while (open > 0) {
    open = 0;
    for (let t = 0; t < left.length; t++) {
      if (left[t] === 0) continue;
      const chunk = next();
      if (chunk === undefined) return batches;
      const last = batches[t].at(-1);
      if (last !== undefined && last.length < cap) last.push(chunk);
      else batches[t].push([chunk]);
      if (--left[t] > 0) open++;
    }
  }
  return batches;
}

/**
 * With nothing queued, the first worker that holds nothing takes back from
 * the busiest half the chunks it has not started, from the back of its
 * line, or its only chunk when it has not started that: a worker still
 * starting holds chunks it cannot run yet, and a pool's first few tiny items
 * would otherwise wait tens of milliseconds for it. `null` when no worker is
 * idle, none holds anything, or the idle one has no room.
 */
export function planRebalance<W extends Load>(
  workers: readonly W[],
  limits: Limits,
): Rebalance<W> | null {
  const idle = workers.find((worker) => !worker.retiring && worker.held === 0);
  if (idle === undefined) return null;
  let busiest: W | undefined;
  for (const worker of workers) {
    if (worker.held > (busiest?.held ?? 0)) busiest = worker;
  }
  if (busiest === undefined) return null;
  const count = Math.min(room(idle, limits), Math.max(1, busiest.held >> 1));
  return count > 0 ? { from: busiest, to: idle, count } : null;
}
