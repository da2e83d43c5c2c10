/**
 * Draws recorded spans as a chart in the terminal: one row per worker or
 * task, time running left to right, each column marked running, waiting or
 * idle, with a time axis, a legend and each row's share of time spent running.
 *
 * @module
 */

import type { Span } from "../lib/recorder.ts";

/** How a timeline is drawn. */
export interface TimelineOptions {
  /**
   * Columns the whole chart may use, labels included.
   * @default {80}
   */
  readonly width?: number;
  /**
   * `"ascii"` draws with `#` and `.` and no colour, for logs, pipes and
   * `NO_COLOR`; `"color"` draws with block characters and ANSI colours.
   * @default {"ascii"}
   */
  readonly style?: "ascii" | "color";
  /** The rows, top to bottom. By default, every row that has a span, in natural order. */
  readonly rows?: readonly string[];
  /**
   * Where time zero is, in the spans' ms. By default the earliest span start.
   */
  readonly from?: number;
  /**
   * Length of the time axis in ms, so that charts drawn side by side share
   * one scale. By default from `from` to the latest span end.
   */
  readonly duration?: number;
}

/** What a column of a row shows. */
type Cell = "run" | "wait" | "idle";

interface Glyphs {
  readonly cell: Record<Cell, string>;
  /** ANSI colour of each cell kind; empty for plain text. */
  readonly color: Record<Cell, string>;
  readonly bar: string;
  readonly axis: string;
  readonly tick: string;
}

const NO_COLOR: Record<Cell, string> = { run: "", wait: "", idle: "" };

const GLYPHS: Record<"ascii" | "color", Glyphs> = {
  ascii: {
    cell: { run: "#", wait: ".", idle: " " },
    color: NO_COLOR,
    bar: "|",
    axis: "-",
    tick: "+",
  },
  color: {
    cell: { run: "█", wait: "░", idle: " " },
    color: { run: "\x1b[32m", wait: "\x1b[33m", idle: "" },
    bar: "│",
    axis: "─",
    tick: "┼",
  },
};

const SHARE_WIDTH = 5;
const RESET = "\x1b[0m";

/**
 * Renders `spans` as a timeline chart: a multi-line string, no trailing
 * newline. A column is "running" when any run span touches it, "waiting"
 * when only a wait span does, and idle otherwise, so even a span far shorter
 * than a column stays visible.
 *
 * @example Two workers, one busy twice as long
 * ```ts
 * import { renderTimeline } from "./timeline.ts";
 * import assert from "node:assert/strict";
 *
 * const chart = renderTimeline([
 *   { row: "worker 1", start: 0, end: 100, label: "0..9", kind: "run" },
 *   { row: "worker 2", start: 0, end: 50, label: "10..19", kind: "run" },
 * ], { width: 40 });
 * const [first, second] = chart.split("\n");
 * assert.equal(first, "worker 1 |########################| 100%");
 * assert.equal(second, "worker 2 |############            |  50%");
 * ```
 */
export function renderTimeline(spans: readonly Span[], options: TimelineOptions = {}): string {
  const width = options.width ?? 80;
  const glyph = GLYPHS[options.style ?? "ascii"];
  const rows = options.rows ?? naturalOrder(new Set(spans.map((span) => span.row)));
  if (rows.length === 0 || spans.length === 0) return "(nothing was recorded)";
  const from = options.from ?? Math.min(...spans.map((span) => span.start));
  const to = options.duration !== undefined
    ? from + Math.max(1e-3, options.duration)
    : Math.max(from + 1e-3, ...spans.map((span) => span.end));
  const labelWidth = Math.min(16, Math.max(...rows.map((row) => row.length)));
  const columns = Math.max(10, width - labelWidth - 3 - SHARE_WIDTH);
  const step = (to - from) / columns;

  const lines: string[] = [];
  for (const row of rows) {
    const own = spans.filter((span) => span.row === row);
    const cells = rowCells(own, from, step, columns);
    const running = own.filter((span) => span.kind === "run")
      .reduce((sum, span) => sum + (Math.min(span.end, to) - Math.max(span.start, from)), 0);
    const share = `${Math.round((100 * running) / (to - from))}%`.padStart(SHARE_WIDTH - 1);
    lines.push(`${fit(row, labelWidth)} ${glyph.bar}${draw(cells, glyph)}${glyph.bar} ${share}`);
  }
  lines.push(axisLine(labelWidth, columns, glyph.axis, glyph.tick));
  lines.push(axisLabels(labelWidth, columns, to - from));
  lines.push(
    `${" ".repeat(labelWidth + 2)}${paint("run", 1, glyph)} running   ${
      paint("wait", 1, glyph)
    } waiting   ` +
      `(blank) idle   % = share of time running`,
  );
  return lines.join("\n");
}

/** The state of each column of one row. */
function rowCells(spans: readonly Span[], from: number, step: number, columns: number): Cell[] {
  const cells: Cell[] = new Array(columns).fill("idle");
  for (const span of spans) {
    const first = clampColumn(Math.floor((span.start - from) / step), columns);
    // A span ending exactly on a column boundary does not touch the next column.
    const last = clampColumn(Math.ceil((span.end - from) / step) - 1, columns);
    for (let column = first; column <= Math.max(first, last); column++) {
      if (span.kind === "run") cells[column] = "run";
      else if (cells[column] === "idle") cells[column] = "wait";
    }
  }
  return cells;
}

/** `count` cells of one kind, coloured once for the whole stretch. */
function paint(kind: Cell, count: number, glyph: Glyphs): string {
  const text = glyph.cell[kind].repeat(count);
  return glyph.color[kind] === "" ? text : glyph.color[kind] + text + RESET;
}

/** The cells as text, one escape sequence per stretch of equal cells. */
function draw(cells: readonly Cell[], glyph: Glyphs): string {
  let text = "";
  for (let i = 0; i < cells.length;) {
    let j = i;
    while (j < cells.length && cells[j] === cells[i]) j++;
    text += paint(cells[i], j - i, glyph);
    i = j;
  }
  return text;
}

function clampColumn(column: number, columns: number): number {
  return Math.min(columns - 1, Math.max(0, column));
}

function axisLine(labelWidth: number, columns: number, axis: string, tick: string): string {
  const chars = new Array(columns).fill(axis);
  for (const column of tickColumns(columns)) chars[column] = tick;
  return `${" ".repeat(labelWidth + 2)}${chars.join("")}`;
}

/** Tick labels under the axis: time zero at the left, the total at the right. */
function axisLabels(labelWidth: number, columns: number, total: number): string {
  const chars = new Array(columns + 8).fill(" ");
  const ticks = tickColumns(columns);
  let free = 0;
  ticks.forEach((column, quarter) => {
    const text = formatMs((total * quarter) / 4);
    // The last label ends at its tick, the others start at theirs; on a
    // narrow chart a label moves right rather than overwrite the one before.
    const at = Math.max(free, quarter === 4 ? column - text.length + 1 : column);
    for (let k = 0; k < text.length; k++) chars[at + k] = text[k];
    free = at + text.length + 1;
  });
  return `${" ".repeat(labelWidth + 2)}${chars.join("").trimEnd()}`;
}

/** The columns of the five ticks: the start, each quarter, and the last column. */
function tickColumns(columns: number): number[] {
  return [0, 1, 2, 3, 4].map((quarter) =>
    Math.min(columns - 1, Math.round((quarter * columns) / 4))
  );
}

/** `0 ms`, `12 ms`, `1.50 s`. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  if (ms >= 10 || ms === 0) return `${Math.round(ms)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** Rows sorted so that `worker 2` comes before `worker 10`. */
function naturalOrder(rows: Set<string>): string[] {
  return [...rows].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}
