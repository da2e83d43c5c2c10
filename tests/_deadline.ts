/**
 * Test helper: a deadline for a promise, so that a hang fails its test with
 * a message instead of stalling the run. It measures nothing: the limit is
 * far above what the awaited work takes.
 *
 * @module
 */

/** How long a test waits for a call that must settle, in ms. */
export const SETTLES_WITHIN = 20_000;

/**
 * Resolves or rejects as `promise` does, or rejects with an error naming
 * `what` if it has not settled after `ms`. The timer is cleared either way,
 * so the test leaks none.
 */
export async function within<T>(
  promise: Promise<T>,
  what: string,
  ms = SETTLES_WITHIN,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection reason of `promise`, within the deadline; fails when it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  const outcome = await within(
    promise.then((value) => ({ value }), (reason: unknown) => ({ reason })),
    what,
  );
  if ("reason" in outcome) return outcome.reason;
  throw new Error(`${what} resolved with ${Deno.inspect(outcome.value)}; expected a rejection`);
}
