import assert from "node:assert/strict";
import { Pool, Recorder, type Span } from "../lib/mod.ts";
import { renderTimeline } from "../demo/timeline.ts";
import { ProgressBar } from "../demo/progress.ts";
import { bounded } from "./_deadline.ts";

const run = (row: string, start: number, end: number): Span => ({
  row,
  start,
  end,
  label: "",
  kind: "run",
});
const wait = (row: string, start: number, end: number): Span => ({
  ...run(row, start, end),
  kind: "wait",
});

const ESC = String.fromCharCode(27);

/** The part of a chart line between its two bars. */
function cells(line: string): string {
  return line.slice(line.indexOf("|") + 1, line.lastIndexOf("|"));
}

Deno.test(
  "`renderTimeline()` marks running, waiting and idle columns on each row",
  () => {
    const chart = renderTimeline([
      run("A", 0, 25),
      wait("A", 25, 50),
      run("B", 50, 100),
    ], { width: 49 });
    const lines = chart.split("\n");
    // 49 columns: a 1-column label, a space, 2 bars, 5 for the share: 40 cells of 2.5 ms.
    assert.equal(cells(lines[0]), "#".repeat(10) + ".".repeat(10) + " ".repeat(20));
    assert.equal(cells(lines[1]), " ".repeat(20) + "#".repeat(20));
    assert.match(lines[0], /\| {2}25%$/);
    assert.match(lines[1], /\| {2}50%$/);
    assert.match(lines[3], /^ {3}0 ms {6}25 ms {5}50 ms {5}75 ms 100 ms$/);
    assert.match(lines[4], /# running {3}\. waiting {3}\(blank\) idle/);
  },
);

Deno.test(
  "`renderTimeline()` shows a span far shorter than a column, and run wins over wait",
  () => {
    const chart = renderTimeline([
      wait("A", 0, 1000),
      run("A", 500, 500.01),
    ], { width: 30 });
    const row = cells(chart.split("\n")[0]);
    assert.equal(row.split("#").length - 1, 1);
    assert.equal(row.replaceAll(".", "").replaceAll("#", ""), "");
  },
);

Deno.test(
  "`renderTimeline()` puts rows in natural order and fits the width",
  () => {
    const spans = [10, 2, 1].map((id) => run(`worker ${id}`, id, id + 5));
    const lines = renderTimeline(spans).split("\n");
    assert.deepEqual(lines.slice(0, 3).map((line) => line.split(" |")[0].trim()), [
      "worker 1",
      "worker 2",
      "worker 10",
    ]);
    for (const line of lines) assert.ok(line.length <= 80, `${line.length}: ${line}`);
  },
);

Deno.test(
  "`renderTimeline()` in ASCII style has no escape codes; in colour style, the same visible width",
  () => {
    const spans = [run("A", 0, 10), wait("A", 10, 20), run("B", 5, 20)];
    const ascii = renderTimeline(spans);
    // Printable ASCII and newlines only.
    assert.ok([...ascii].every((c) => c === "\n" || (c >= " " && c <= "~")), ascii);
    const color = renderTimeline(spans, { style: "color" });
    assert.ok(color.includes(`${ESC}[32m█`) && color.includes(`${ESC}[0m`));
    const visible = color.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "").split("\n");
    assert.deepEqual(
      visible.map((line) => line.length),
      ascii.split("\n").map((line) => line.length),
    );
  },
);

Deno.test(
  "`renderTimeline()` with a duration fixes the axis, so two charts share one scale",
  () => {
    const short = renderTimeline([run("A", 0, 50)], { width: 49, from: 0, duration: 100 });
    assert.equal(cells(short.split("\n")[0]), "#".repeat(20) + " ".repeat(20));
    assert.match(short, /100 ms$/m);
  },
);

Deno.test(
  "`Recorder` on a pool records chunks that `renderTimeline()` draws one row per worker",
  bounded(async () => {
    const recorder = new Recorder();
    {
      await using pool = new Pool({ workers: 2, recorder });
      await pool.map(
        (ms: number) => {
          const end = Date.now() + ms;
          while (Date.now() < end) { /* busy */ }
          return ms;
        },
        [20, 20, 20, 20],
        { chunkSize: 1 },
      );
    }
    const rows = new Set(recorder.spans.map((span) => span.row));
    assert.deepEqual([...rows].sort(), ["worker 1", "worker 2"]);
    const lines = renderTimeline(recorder.spans, { from: 0 }).split("\n");
    assert.ok(lines[0].startsWith("worker 1 |") && lines[1].startsWith("worker 2 |"));
    assert.ok(cells(lines[0]).includes("#") && cells(lines[1]).includes("#"));
    // Each ran about 40 ms of the run: a share well above zero.
    assert.ok(Number(lines[0].match(/(\d+)%$/)?.[1]) > 10, lines[0]);
  }),
);

Deno.test(
  "`ProgressBar` draws at most once per interval, always at the end, and clears",
  () => {
    let clock = 0;
    const frames: string[] = [];
    const bar = new ProgressBar({ total: 100, write: (t) => frames.push(t), now: () => clock });
    bar.update(1);
    clock = 50;
    bar.update(2); // within 100 ms of the last frame: skipped
    clock = 150;
    bar.update(60);
    clock = 160;
    bar.update(100); // the end is always drawn
    bar.finish();
    assert.equal(frames.length, 4);
    assert.match(frames[0], /^\r\[\.+\] {3}1% {2}1\/100 /);
    assert.match(frames[1], /^\r\[#+\.+\] {2}60% {2}60\/100 {2}400\/s {2}100 ms left $/);
    assert.match(frames[2], /^\r\[#+\] 100% {2}100\/100 /);
    assert.equal(frames[3], "\r\x1b[2K");
    for (const frame of frames.slice(0, 3)) assert.ok(frame.length <= 81);
  },
);

Deno.test(
  "`onProgress` counts every item once, ending at the total",
  bounded(async () => {
    await using pool = new Pool({ workers: 2 });
    const seen: [number, number][] = [];
    await pool.map((n: number) => n, Array.from({ length: 1000 }, (_, i) => i), {
      chunkSize: 7,
      onProgress: (done, total) => seen.push([done, total]),
    });
    assert.ok(seen.length >= 1000 / 7 / 512);
    assert.deepEqual(seen.at(-1), [1000, 1000]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0]);
    const streamed: number[] = [];
    for await (
      const _ of pool.imap((n: number) => n, [1, 2, 3], { onProgress: (d) => streamed.push(d) })
    ) {
      // consume
    }
    assert.equal(streamed.at(-1), 3);
  }),
);

Deno.test(
  "`Recorder` keeps named spans and chunks in the order recorded, across reads",
  () => {
    const recorder = new Recorder();
    const t = recorder.origin;
    recorder.record("Thread-1", t + 1, t + 2, "1");
    recorder.chunk(3, 10, 1, t + 2, t + 3);
    assert.equal(recorder.spans.length, 2);
    // Enough chunks to fill more than two blocks of the log.
    for (let i = 0; i < 9000; i++) recorder.chunk(1, i * 4, 4, t + 4 + i, t + 5 + i);
    recorder.record("Thread-2", t + 9100, t + 9101, "", "wait");
    const spans = recorder.spans;
    assert.equal(spans.length, 9003);
    assert.deepEqual(spans[0], { row: "Thread-1", start: 1, end: 2, label: "1", kind: "run" });
    assert.deepEqual(spans[1], { row: "worker 3", start: 2, end: 3, label: "10", kind: "run" });
    for (const i of [4093, 4094, 8190, 8999]) {
      assert.deepEqual(spans[i + 2], {
        row: "worker 1",
        start: 4 + i,
        end: 5 + i,
        label: `${i * 4}..${i * 4 + 3}`,
        kind: "run",
      });
    }
    assert.deepEqual(spans[9002], {
      row: "Thread-2",
      start: 9100,
      end: 9101,
      label: "",
      kind: "wait",
    });
    assert.deepEqual(JSON.parse(JSON.stringify(recorder))[1], spans[1]);
  },
);
