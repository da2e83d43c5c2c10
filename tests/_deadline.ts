/**
 * Test helper: a deadline for one awaited step, so that a hang fails the test
 * with a message instead of stalling the run.
 *
 * @module
 */

/** The bound for a promise that must settle "within milliseconds": generous, yet a hang fails. */
export const PROMPTLY_MS = 2_000;

/**
 * Settles as `promise` does, or rejects after `ms` with an error naming
 * `what`. The timer is cleared either way, so no test leaks it.
 */
export async function within<T>(promise: Promise<T>, what: string, ms = PROMPTLY_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves once `flag[0]` is no longer 0: a worker's task sets it to say it
 * has started. Waits on the flag itself, not on a timer.
 */
export async function flagged(flag: Int32Array): Promise<void> {
  while (Atomics.load(flag, 0) === 0) {
    const wait = Atomics.waitAsync(flag, 0, 0);
    if (wait.async) await wait.value;
  }
}

/**
 * A test body under a deadline, `Deno.test(name, bounded(async (t) => {...}))`:
 * a hang anywhere in it, disposing of a pool included, fails the test.
 */
export function bounded(
  fn: (t: Deno.TestContext) => Promise<void>,
  ms = 20_000,
): (t: Deno.TestContext) => Promise<void> {
  return (t) => within(fn(t), "the test", ms);
}

/** How long a test waits for a call that must settle, with no promise of speed, in ms. */
export const SETTLES_WITHIN = 20_000;

/** `within`, with the bound for a call that must settle but need not be quick. */
export function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  return within(promise, what, SETTLES_WITHIN);
}

/** The rejection reason of `promise`, within `SETTLES_WITHIN`; fails when it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await settles(
    promise.then((value) => ({ value }), (reason: unknown) => ({ reason })),
    what,
  );
  if ("reason" in outcome) return outcome.reason;
  throw new Error(`${what} resolved with ${Deno.inspect(outcome.value)}; expected a rejection`);
}

/**
 * Resolves once `check()` holds, looking again every millisecond: for a state
 * that the code under test announces with no event, such as a pool's
 * `liveWorkers`. Rejects, naming `what`, when it does not hold within `ms`;
 * by default half the bound of {@linkcode bounded}, so that its message is
 * the one a failing test reports.
 */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Sets `flag[0]` to `value` and wakes every thread that waits on it. */
export function raise(flag: Int32Array, value = 1): void {
  Atomics.store(flag, 0, value);
  Atomics.notify(flag, 0);
}
