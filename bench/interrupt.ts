/**
 * Ctrl-C and SIGTERM in the bench. By default either ends a Deno process at
 * once, with no `finally` run: a comparison that started a NATS server and
 * node processes would leave them running, and their store on disk. The
 * bench catches both, cleans up and exits with the code the signal would
 * have given.
 *
 * @module
 */

/** The signals the bench cleans up after. */
export type Interrupt = "SIGINT" | "SIGTERM";

/** The exit code of a process ended by each signal, as a shell reports it: 128 + its number. */
export const EXIT_CODES: Readonly<Record<Interrupt, number>> = { SIGINT: 130, SIGTERM: 143 };

/**
 * Calls `handler` on SIGINT or SIGTERM instead of ending the process; returns
 * the function that removes it. A signal this system cannot listen for
 * (SIGTERM on Windows) is left to its default.
 */
export function onInterrupt(handler: (signal: Interrupt) => void): () => void {
  const added: [Interrupt, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const listener = () => handler(signal);
    try {
      Deno.addSignalListener(signal, listener);
      added.push([signal, listener]);
    } catch {
      // Not a signal this system delivers to listeners.
    }
  }
  return () => {
    for (const [signal, listener] of added) Deno.removeSignalListener(signal, listener);
  };
}
