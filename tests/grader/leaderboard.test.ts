// The capstone's leaderboard from a gradebook, without kernels or measurements: attempts with
// made-up measured figures are recorded, and the board must rank each event by them alone
// (ties inside the intervals, the latest attempt only, unmet constraints unranked with the
// grader's reason), mark the Pareto front, hide ids behind pseudonyms unless asked, and keep a
// student's chosen id from becoming a formula or markup. An older gradebook gains the table.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import initSqlJs from "sql.js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { eventOutcomes, type CapstoneMeasurement } from "tinytorch-ts/capstone";
import type { CapstoneRecord } from "../../grader/src/capstone";
import { Gradebook } from "../../grader/src/gradebook";
import { buildLeaderboard, leaderboardCsv } from "../../grader/src/leaderboard";
import { leaderboardHtml } from "../../grader/src/leaderboard-html";
import type { SubmissionResult } from "../../grader/src/types";

const work = mkdtempSync(join(tmpdir(), "tito-leaderboard-"));
const MODULE = "20_capstone";

/** A measurement with the given figures (intervals ±spread around relative latency). */
function measured(
  latency: number,
  bytes: number,
  accuracy: number,
  spread = 0.02,
): CapstoneMeasurement {
  const iv = (v: number, d: number) => ({ value: v, low: v - d, high: v + d });
  const composite = Math.cbrt(latency * (bytes / 407080) * ((1 - accuracy) / 0.05));
  return {
    bytes, input: "images", accelerate: true, backend: "wasm-simd", layers: ["linear"], parameters: 1,
    macs: 1, testSize: 2004, perturbationSeed: 1, cleanAccuracy: accuracy + 0.01,
    perturbedAccuracy: accuracy, accuracy: iv(accuracy, 0.009), queries: 400,
    p50S: iv(latency * 2e-4, spread * 2e-4), baselineP50S: iv(2e-4, 0),
    relativeLatency: iv(latency, spread), composite: iv(composite, 0.01),
  }; // prettier-ignore
}

function attempt(
  student: string,
  m: CapstoneMeasurement | undefined,
  reason?: string,
): SubmissionResult {
  const events = m
    ? eventOutcomes(m).map((e) => ({ ...e, reason: `measured by the grader: ${e.reason}` }))
    : ["latency", "size", "accuracy", "all-round"].map((e) => ({ event: e, title: e, met: false, points: 0, maxPoints: 2, reason: reason ?? "?" })); // prettier-ignore
  const capstone: CapstoneRecord = { status: m ? "measured" : "missing", ...(reason ? { reason } : {}), modelFile: "capstone.ttm", ...(m ? { modelBytes: m.bytes, measurement: m } : {}), events }; // prettier-ignore
  const now = new Date().toISOString();
  return {
    module: MODULE, student, submissionHash: `${student}-${Math.random()}`, manifestHash: "m", status: "graded",
    score: events.reduce((n, e) => n + e.points, 0), maxScore: 8, tests: [], tampering: [], studentCells: [],
    isolation: [], startedAt: now, finishedAt: now, executionTimeMs: 1, capstone,
  }; // prettier-ignore
}

const EVIL = '=HYPERLINK("http://x")<script>';

async function board(names: boolean) {
  const book = await Gradebook.open(join(work, "book.sqlite"));
  try {
    return { board: await buildLeaderboard(book, MODULE, names), book };
  } finally {
    book.close();
  }
}

test("an older gradebook gains the capstone table when it is opened, and keeps its rows", async () => {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.exec(`CREATE TABLE attempts (id INTEGER PRIMARY KEY AUTOINCREMENT, student TEXT NOT NULL, module TEXT NOT NULL,
    attempt INTEGER NOT NULL, submission_hash TEXT NOT NULL, manifest_hash TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT, score REAL NOT NULL, max_score REAL NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
    execution_ms INTEGER NOT NULL, isolation TEXT NOT NULL, UNIQUE (student, module, attempt));
    INSERT INTO attempts (student, module, attempt, submission_hash, manifest_hash, status, score, max_score,
    started_at, finished_at, execution_ms, isolation) VALUES ('old', '01_tensor', 1, 'h', 'm', 'graded', 3, 4, 't', 't', 1, '');`); // prettier-ignore
  writeFileSync(join(work, "book.sqlite"), db.export());
  const book = await Gradebook.open(join(work, "book.sqlite"));
  try {
    assert.equal(book.capstone(MODULE), []);
    assert.equal(
      book.attempts().map((a) => a.student),
      ["old"],
    );
    book.record(attempt("ana", measured(1.0, 24_000, 0.97)));
    book.record(attempt("ben", measured(1.01, 24_000, 0.96)));
    book.record(attempt("cy", measured(1.5, 8_000, 0.975)));
    book.record(attempt("di", measured(0.5, 50_000, 0.8)));
    book.record(attempt("fay", measured(2.0, 30_000, 0.95)));
    book.record(attempt("ed", undefined, "no capstone.ttm in the submission folder"));
    book.record(attempt(EVIL, measured(3.0, 400_000, 0.99)));
    // ana's second attempt is what counts: slower now.
    book.record(attempt("ana", measured(1.2, 24_000, 0.97)));
    assert.equal(book.capstone(MODULE).map((e) => [e.student, e.attempt]), [[EVIL, 1], ["ana", 2], ["ben", 1], ["cy", 1], ["di", 1], ["ed", 1], ["fay", 1]]); // prettier-ignore
  } finally {
    book.close();
  }
});

test("each event ranks the entries that met its constraint by the measured figure, ties inside the noise", async () => {
  const { board: b } = await board(true);
  const ranked = (id: string) =>
    b.events.find((e) => e.id === id)?.ranked.map((r) => [r.label, r.rank]);
  // ben (1.01 ± 0.02) and ana's latest attempt (1.2 ± 0.02) do not overlap.
  assert.equal(ranked("latency"), [
    ["ben", 1],
    ["ana", 2],
    ["cy", 3],
    ["fay", 4],
    [EVIL, 5],
  ]);
  // Bytes are exact: ana and ben tie, and the next is fourth.
  assert.equal(ranked("size"), [
    ["cy", 1],
    ["ana", 2],
    ["ben", 2],
    ["fay", 4],
    [EVIL, 5],
  ]);
  // Within 2x the baseline's latency only; accuracy known to ±0.9 points: 97.0 and 96.0 overlap
  // 97.5's interval, 95.0 does not.
  assert.equal(ranked("accuracy"), [
    ["cy", 1],
    ["ana", 1],
    ["ben", 1],
    ["fay", 4],
    ["di", 5],
  ]);
  const latency = b.events.find((e) => e.id === "latency");
  assert.equal(latency?.unranked, [
    { label: "di", reason: "measured by the grader: accuracy 80.0% (the lower of 81.0% on the test split and 80.0% on its perturbed copy) < 95.0%" },
    { label: "ed", reason: "no capstone.ttm in the submission folder" },
  ]); // prettier-ignore
  // fay (2.0, 30 kB, 95%) is dominated by ana (1.2, 24 kB, 97%); every other measured entry is
  // best at something or trades one figure for another.
  assert.equal(
    b.entries.filter((e) => e.front).map((e) => e.label),
    [EVIL, "ana", "ben", "cy", "di"],
  );
  assert.equal(b.entries.find((e) => e.label === "ed")?.front, false);
});

test("students appear by pseudonym unless asked; ids never become formulas or markup", async () => {
  const { board: named } = await board(true);
  const { board: blind } = await board(false);
  assert.ok(
    blind.entries.every((e) => /^student-[0-9a-f]{8}$/.test(e.label)),
    "pseudonyms",
  );
  const page = await leaderboardHtml(blind);
  for (const who of ["ana", "ben", "cy", "di", "ed", "fay"])
    assert.not.match(page, `<td>${who}</td>`);
  assert.not.match(page, "HYPERLINK");
  assert.match(await leaderboardHtml(named), "<td>ana</td>");
  const namedPage = await leaderboardHtml(named);
  assert.not.match(namedPage, "<script>");
  assert.match(namedPage, "&lt;script&gt;");
  const csv = leaderboardCsv(named);
  assert.match(csv, /,"'=HYPERLINK\(""http:\/\/x""\)<script>",/);
  assert.is(csv.split("\n")[0], "event,rank,student,value,low,high,constraint_met,pareto_front,accuracy,clean_accuracy,perturbed_accuracy,relative_latency,p50_ms,baseline_p50_ms,model_bytes,composite,attempt,status,reason"); // prettier-ignore
});

test.run();
