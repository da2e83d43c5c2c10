/**
 * The channel of a worker that is a process of its own: frames (see
 * `_frames.ts`) on its standard input and output. Not a piece of the shipped
 * program: a worker process runs `process/main.ts`, whose modules import
 * each other as any program's do.
 *
 * @module
 */

import { encodeFrame, encodeResultsFrame, FrameReader } from "../../_frames.ts";
import type { ToWorker } from "../../_protocol.ts";
import type { Channel } from "../channel.ts";

/** Console methods that write to standard output, where the frames go. */
const TO_STDOUT = ["log", "info", "debug", "dir", "dirxml", "table", "group", "groupCollapsed"];

/**
 * The process's channel to its pool. Its standard output carries the
 * frames, so what tasks print with `console.log` and its kin goes to
 * standard error instead, which the pool passes on to its own.
 *
 * @returns The channel; call it once, before any task runs.
 */
export function stdioChannel(): Channel {
  const stdout = Deno.stdout;
  const exit = Deno.exit.bind(Deno);
  const console_ = console as unknown as Record<string, unknown>;
  for (const name of TO_STDOUT) console_[name] = console.error.bind(console);
  return {
    post(message) {
      const frame = Array.isArray(message) ? encodeResultsFrame(message) : encodeFrame(message);
      // Written whole before the next line runs: a worker that dies next
      // must have said its last word.
      for (let at = 0; at < frame.length;) at += stdout.writeSync(frame.subarray(at));
    },
    listen(receive) {
      (async () => {
        const frames = new FrameReader();
        for await (const bytes of Deno.stdin.readable) {
          frames.push(bytes, (message) => receive(message as ToWorker));
        }
        // The pool closed the pipe, or is gone: nothing more will come.
        exit(0);
      })();
    },
    close() {
      exit(0);
    },
  };
}
