/**
 * `imap` and `imapUnordered` of a cluster pool: the input read lazily, at
 * most `maxInFlight` items ahead of the reader, each chunk a message.
 *
 * @module
 */

import { openInput } from "../engine/call.ts";
import { type CallHost, type CallSpec, ClusterCall } from "./_call.ts";

/** How a stream runs. */
export interface StreamSettings {
  readonly chunkSize: number;
  readonly maxInFlight: number;
  readonly ordered: boolean;
  readonly signal: AbortSignal | undefined;
  readonly onProgress: ((done: number) => void) | undefined;
}

const ABORTED = Symbol("aborted");

/** Yields the results of `fn` over `items`, in input order or as they finish. */
export async function* streamResults<R>(
  host: CallHost,
  id: string,
  spec: CallSpec,
  items: Iterable<unknown> | AsyncIterable<unknown>,
  settings: StreamSettings,
): AsyncGenerator<R, undefined> {
  const { chunkSize, maxInFlight, ordered, signal, onProgress } = settings;
  signal?.throwIfAborted();
  const input = openInput(items);
  /** Results by index (in order), or in the order they came (unordered, from `head`). */
  const ready = new Map<number, unknown>();
  let head = 0;
  let arrived = 0;
  let done = 0;
  let failure: { error: unknown } | null = null;
  let inputFailure: { error: unknown } | null = null;
  let inputDone = false;
  let taken = 0;
  let yielded = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    const resume = wake;
    wake = null;
    resume?.();
  };
  let abortWake: ((value: typeof ABORTED) => void) | null = null;
  const aborted = new Promise<typeof ABORTED>((resolve) => abortWake = resolve);
  const onAbort = () => {
    failure ??= { error: signal?.reason };
    abortWake?.(ABORTED);
    poke();
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  const call = new ClusterCall(host, id, spec, {
    onOutcomes: (start, outcomes) => {
      for (const outcome of outcomes) {
        if (!outcome.ok) failure ??= { error: call.error(start, outcome) };
        else ready.set(ordered ? start + outcome.offset : arrived++, outcome.value);
      }
      done += outcomes.length;
      try {
        onProgress?.(done);
      } catch (error) {
        failure ??= { error };
      }
      poke();
    },
    onError: (error) => {
      failure ??= { error };
      poke();
    },
  });
  try {
    while (true) {
      if (failure !== null) throw (failure as { error: unknown }).error;
      const key = ordered ? yielded : head;
      if (ready.has(key)) {
        const value = ready.get(key);
        ready.delete(key);
        if (!ordered) head++;
        yielded++;
        yield value as R;
        continue;
      }
      if (inputDone && yielded === taken) {
        if (inputFailure !== null) throw (inputFailure as { error: unknown }).error;
        return undefined;
      }
      if (!inputDone && taken - yielded < maxInFlight) {
        const batch: unknown[] = [];
        while (batch.length < chunkSize && taken - yielded + batch.length < maxInFlight) {
          let step: IteratorResult<unknown> | typeof ABORTED;
          try {
            step = await Promise.race([input.next(), aborted]);
          } catch (error) {
            inputFailure = { error };
            inputDone = true;
            break;
          }
          if (step === ABORTED) break;
          if (step.done) {
            inputDone = true;
            break;
          }
          batch.push(step.value);
        }
        if (batch.length > 0) {
          call.send(batch, taken);
          taken += batch.length;
        }
        continue;
      }
      await new Promise<void>((resolve) => wake = resolve);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    call.end();
    if (!inputDone && failure === null) await input.return?.();
  }
}
