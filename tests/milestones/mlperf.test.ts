// Milestone 06, shortened: every fifth digit, two epochs of baseline, one of fine-tuning, two of
// distillation, one of the CNN, and few timed queries. The table's relations must hold on this subset too: the
// INT8 file at least 3.5× smaller than the float32 checkpoint in real bytes, the sparse model at
// its exact sparsity and smaller than float32, the student smaller still, and accuracies within
// bounds loosened for 400 test digits (a digit is 0.25 points). Timings are printed by the
// milestone and judged by its statistical tests; they are never asserted here.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatMlperfReport, judge, runMlperf } from "../../milestones/06_mlperf";

test("the shortened milestone builds every row and its table holds the relations", async () => {
  const r = await runMlperf({
    stride: 5,
    epochs: 2,
    fineTuneEpochs: 1,
    studentEpochs: 2,
    cnnEpochs: 1,
    queries: 60,
    compareQueries: 40,
    compareBatches: 4,
  });
  const { baseline, int8, sparse, student } = r.built;
  assert.is(r.rows.length, 8, "five rows of the MLP, three of the CNN");
  assert.ok(baseline.accuracy > 0.8, `baseline ${baseline.accuracy}`);
  assert.ok(baseline.bytes / int8.bytes >= 3.5, `INT8: ${int8.bytes} against ${baseline.bytes} bytes`); // prettier-ignore
  assert.ok(int8.accuracy >= baseline.accuracy - 0.02, `INT8 ${int8.accuracy}`);
  assert.ok(Math.abs(r.built.sparsity - 0.8) < 1e-3, `sparsity ${r.built.sparsity}`);
  assert.ok(sparse.bytes < baseline.bytes / 2, `CSR: ${sparse.bytes} bytes`);
  assert.ok(sparse.accuracy >= baseline.accuracy - 0.04, `sparse ${sparse.accuracy}`);
  assert.ok(student.bytes < baseline.bytes / 1.9, `student: ${student.bytes} bytes`);
  assert.ok(student.accuracy >= baseline.accuracy - 0.06, `student ${student.accuracy}`);
  assert.ok(r.built.packed.accuracy === baseline.accuracy, "packing the weights changes nothing");
  const cnn = r.built.cnn;
  assert.ok(cnn !== undefined, "the CNN rows are there");
  assert.ok(cnn.float.bytes / cnn.int8.bytes > 2.5, `CNN INT8: ${cnn.int8.bytes} against ${cnn.float.bytes} bytes`); // prettier-ignore
  assert.ok(cnn.int8.accuracy >= cnn.float.accuracy - 0.03, `CNN INT8 ${cnn.int8.accuracy}`);
  assert.is(cnn.student.bytes, student.bytes, "both students have the same size");
  assert.is(cnn.int8.against, cnn.float, "the CNN's rows are compared with the CNN");
  for (const m of r.rows) {
    assert.ok(m.p50S > 0 && m.p90S >= m.p50S && m.samplesPerSecond > 0, m.row.name);
    const compared = m.row.against !== undefined;
    assert.is(compared, m.latency !== undefined && m.batches !== undefined, m.row.name);
  }
  const report = formatMlperfReport(r);
  assert.match(report, /accuracy\s+p50 µs\s+p90 µs\s+samples\/s\s+bytes/);
  assert.match(report, /INT8, per-channel weights/);
  assert.match(report, /Mann–Whitney U decides/);
  assert.match(report, /PASSED|FAILED/);
});

test("a difference inside the noise is reported as none, a clear one with its direction", () => {
  const noise = (i: number): number => 1e-4 * (1 + 0.3 * Math.sin(i * 12.9898));
  const base = Array.from({ length: 200 }, (_, i) => noise(i));
  const same = Array.from({ length: 200 }, (_, i) => noise(i + 1000));
  const half = base.map((v) => v / 2);
  assert.is(judge(base, same, "mann-whitney").verdict, "none");
  assert.is(judge(base, same, "welch").verdict, "none");
  const faster = judge(base, half, "mann-whitney");
  assert.is(faster.verdict, "faster");
  assert.ok(Math.abs(faster.speedup - 2) < 1e-9);
  assert.is(judge(half, base, "welch").verdict, "slower");
});

test.run();
