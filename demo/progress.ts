/**
 * A progress bar for long work, redrawn in place on one terminal line:
 * items done, percentage, rate and time left. It is fed by the pool's
 * `onProgress` hook and draws at most a few times a second.
 *
 * @module
 */

import { formatMs } from "./timeline.ts";

/** Options for {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Items in the whole job. */
  readonly total: number;
  /** Writes text without a newline (standard error, usually). */
  readonly write: (text: string) => void;
  /**
   * Columns the line may use.
   * @default {80}
   */
  readonly width?: number;
  /**
   * Least time between two redraws, in ms.
   * @default {100}
   */
  readonly interval?: number;
  /**
   * The clock, in ms; tests pass a fake one.
   * @default {() => performance.now()}
   */
  readonly now?: () => number;
}

/**
 * Draws `[#####.....]  50%  500,000/1,000,000  1.2M/s  0.4 s left` on one
 * line, rewriting it with a carriage return as work advances.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./progress.ts";
 * import assert from "node:assert/strict";
 *
 * let clock = 0;
 * const frames: string[] = [];
 * const bar = new ProgressBar({ total: 1000, write: (t) => frames.push(t), width: 60, now: () => clock });
 * clock = 500;
 * bar.update(250);
 * assert.equal(frames.at(-1), "\r[#####................]  25%  250/1,000  500/s  1.50 s left ");
 * bar.finish();
 * assert.equal(frames.at(-1), "\r\x1b[2K");
 * ```
 */
export class ProgressBar {
  #total: number;
  #write: (text: string) => void;
  #width: number;
  #interval: number;
  #now: () => number;
  #started: number;
  #lastDraw = -Infinity;
  #drawn = false;

  /** Starts the clock; nothing is drawn until the first update. */
  constructor(options: ProgressBarOptions) {
    this.#total = options.total;
    this.#write = options.write;
    this.#width = options.width ?? 80;
    this.#interval = options.interval ?? 100;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  /** Reports `done` items finished; redraws if enough time has passed. */
  update(done: number): void {
    const now = this.#now();
    if (now - this.#lastDraw < this.#interval && done < this.#total) return;
    this.#lastDraw = now;
    this.#drawn = true;
    this.#write(`\r${this.line(done, now - this.#started)}`);
  }

  /** Erases the bar, leaving the line clean for what comes next. */
  finish(): void {
    if (this.#drawn) this.#write("\r\x1b[2K");
    this.#drawn = false;
  }

  /** The bar's text for `done` items after `elapsed` ms. */
  line(done: number, elapsed: number): string {
    const total = this.#total;
    const fraction = total === 0 ? 1 : Math.min(1, done / total);
    const rate = elapsed > 0 ? (done * 1000) / elapsed : 0;
    const left = rate > 0 ? ((total - done) * 1000) / rate : NaN;
    const counts = `${done.toLocaleString("en-US")}/${total.toLocaleString("en-US")}`;
    const tail = ` ${Math.floor(fraction * 100).toString().padStart(3)}%  ${counts}  ${
      formatRate(rate)
    }  ${Number.isNaN(left) ? "" : `${formatMs(left)} left`} `;
    const barWidth = Math.max(10, this.#width - tail.length - 2);
    const filled = Math.floor(fraction * barWidth);
    return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]${tail}`;
  }
}

function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(0)}k/s`;
  return `${Math.round(perSecond)}/s`;
}
