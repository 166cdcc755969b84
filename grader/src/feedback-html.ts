// The feedback page a student receives: the score, notes about their notebook, each test with
// its verdict, failure message and output, and the cells they wrote. Only what is in a
// SubmissionResult appears, and that is already free of hidden-test text; every string is
// HTML-escaped (student output is untrusted and may contain markup). The page is self-contained:
// no scripts, no external resources.
import { writeFileAtomic } from "@tinytorch-ts/core";
import { escapeHtml, htmlPage } from "./html-page";
import { formatPoints as points } from "./gradebook-totals";
import type { Lateness } from "./late-policy";
import { lateLine, PRINTED_HEADER } from "./results-json";
import type { SubmissionResult, TestResult } from "./types";

/** What the page shows beyond the result itself. */
export interface FeedbackOptions {
  /** How late the submission was, when the course has a due date for it. */
  late?: Lateness;
  /** grade_ids of the tests with hidden checks (`hiddenTestIds(manifest)`). */
  hiddenTests?: ReadonlySet<string>;
  /** Scores given by hand so far, by question (grade_id); a question without one is ungraded. */
  manualMarks?: ReadonlyMap<string, ManualMark>;
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.score { font-size: 1.25rem; font-weight: 600; }
.test { border: 1px solid #ddd; border-radius: 6px; margin: .75rem 0; padding: .5rem .75rem; }
.passed { border-left: 6px solid #2e7d32; } .failed, .timeout, .died, .not-run { border-left: 6px solid #c62828; }
.verdict { font-weight: 600; } .points { float: right; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.printed { margin: .5rem 0 0; font-size: .85rem; color: #555; }
.note { background: #fff8e1; padding: .5rem .75rem; border-radius: 6px; }
.late { background: #fdecea; padding: .5rem .75rem; border-radius: 6px; }
.badge { display: inline-block; font-size: .75rem; padding: 0 .4rem; margin-left: .4rem; border-radius: 4px; background: #eceff1; color: #37474f; }
.badge.hidden { background: #37474f; color: #fff; }
li.failed.hidden-part { list-style: square; }
.hidden-failure { border-left-style: dashed; }
.manual { border-left: 6px solid #1565c0; }
`;

/** A failure the student cannot see the values of: a hidden check or a hidden part failed. */
function failedHidden(t: TestResult): boolean {
  if (t.status === "passed" || t.status === "manual") return false;
  if (t.parts?.some((p) => p.hidden && !p.passed)) return true;
  return /\bhidden check\b/.test(t.message ?? "");
}

const VERDICT: Record<TestResult["status"], string> = {
  passed: "passed",
  failed: "failed",
  timeout: "timed out",
  died: "kernel stopped",
  "not-run": "not run",
  manual: "graded by hand",
};

function testBlock(t: TestResult, hiddenTests: ReadonlySet<string> | undefined): string {
  const hiddenFailure = failedHidden(t);
  const badges = [
    ...(hiddenTests?.has(t.gradeId) ? ['<span class="badge">has hidden checks</span>'] : []),
    ...(hiddenFailure ? ['<span class="badge hidden">failed a hidden check: no values shown</span>'] : []), // prettier-ignore
  ];
  const parts = [
    `<div class="test ${escapeHtml(t.status)}${hiddenFailure ? " hidden-failure" : ""}">`,
    `<span class="verdict">${t.status === "passed" ? "✔" : "✘"} ${escapeHtml(t.name)}: ${VERDICT[t.status]}</span>${badges.join("")}`,
    `<span class="points">${t.score} / ${t.maxScore}</span>`,
  ];
  if (t.parts && t.parts.length > 0) {
    parts.push('<ul class="parts">');
    for (const p of t.parts) {
      const why = p.message ? `: ${escapeHtml(p.message)}` : "";
      const kind = p.hidden ? '<span class="badge hidden">hidden</span>' : '<span class="badge">visible</span>'; // prettier-ignore
      parts.push(`<li class="${p.passed ? "passed" : "failed"}${p.hidden ? " hidden-part" : ""}">${p.passed ? "✔" : "✘"} ${escapeHtml(p.name)} ${kind} ${p.score} / ${p.maxScore}${why}</li>`); // prettier-ignore
    }
    parts.push("</ul>");
  }
  if (t.status !== "manual" && t.message) parts.push(`<pre class="message">${escapeHtml(t.message)}</pre>`); // prettier-ignore
  if (t.output.trim() !== "") {
    parts.push(`<p class="printed">${escapeHtml(PRINTED_HEADER)}</p>`, `<pre class="output">${escapeHtml(t.output)}</pre>`); // prettier-ignore
  }
  parts.push("</div>");
  return parts.join("\n");
}

export function renderFeedback(r: SubmissionResult, opts: FeedbackOptions = {}): string {
  const who = r.student ? ` for ${escapeHtml(r.student)}` : "";
  const part = manualPart(r, opts.manualMarks);
  const body: string[] = [
    `<h1>Module ${escapeHtml(r.module)}: feedback${who}</h1>`,
    part.manualMaxScore > 0
      ? manualScoreRegion(part)
      : `<p class="score">Score: ${r.score} / ${r.maxScore}</p>`,
  ];
  const late = lateLine(opts.late);
  if (late) body.push(`<p class="late">${escapeHtml(late)}</p>`);
  if (r.status !== "graded") {
    body.push(`<p class="note">Your notebook was not graded: ${escapeHtml(r.reason ?? r.status)}</p>`); // prettier-ignore
  }
  if (r.tampering.length > 0) {
    body.push("<h2>Notes about your notebook</h2>", '<ul class="note">');
    for (const t of r.tampering) body.push(`<li>${escapeHtml(t.message)}</li>`);
    body.push("</ul>");
  }
  body.push("<h2>Tests</h2>", ...r.tests.map((t) => t.status === "manual" ? manualAnswerRegion(part, t) : testBlock(t, opts.hiddenTests))); // prettier-ignore
  if (r.studentCells.length > 0) {
    body.push("<h2>Your cells</h2>");
    for (const c of r.studentCells) {
      const label = c.stub ? " (missing: the empty exercise was graded)" : "";
      body.push(`<h3>${escapeHtml(c.gradeId)}${label}</h3>`, `<pre>${escapeHtml(c.source)}</pre>`);
    }
  }
  body.push(`<p><small>Graded ${escapeHtml(r.finishedAt)} · submission ${escapeHtml(r.submissionHash.slice(0, 12))}</small></p>`); // prettier-ignore
  return htmlPage(`${r.module} feedback`, STYLE, body);
}

export function writeFeedback(path: string, r: SubmissionResult, opts: FeedbackOptions = {}): void {
  writeFileAtomic(path, renderFeedback(r, opts));
}

// Answers graded by hand. Their scores arrive after grading (`tito manual --import`), so their
// parts of the page (the score line and each answer) sit between markers, and an import
// rewrites just those parts of the page `tito grade` wrote: the rest (printed output, the
// student's cells, lateness) is kept exactly, though the gradebook does not hold all of it.
// The markers cannot be forged from a notebook: every string on the page is escaped, so no
// student text contains "<!--".

/** A score given by hand, as the page shows it. */
export interface ManualMark {
  score: number;
  comment: string | null;
}

/** What the page's manual parts are drawn from: the attempt's figures and the answers. */
export interface ManualPart {
  module: string;
  /** Identifies the attempt: a page of another attempt is never patched with this one's parts. */
  submissionHash: string;
  /** Points earned automatically, and every point of the module. */
  score: number;
  maxScore: number;
  manualMaxScore: number;
  /** The answers graded by hand (status "manual"), with what the student wrote. */
  answers: TestResult[];
  marks: ReadonlyMap<string, ManualMark>;
}

const MANUAL_END = "<!-- /tito-manual -->";

function manualPart(
  r: SubmissionResult,
  marks: ReadonlyMap<string, ManualMark> = new Map(),
): ManualPart {
  // prettier-ignore
  return {
    module: r.module,
    submissionHash: r.submissionHash,
    score: r.score,
    maxScore: r.maxScore,
    manualMaxScore: r.manualMaxScore ?? 0,
    answers: r.tests.filter((t) => t.status === "manual"),
    marks,
  };
}

function region(begin: string, html: string): string {
  return `${begin}\n${html}\n${MANUAL_END}`;
}

function scoreBegin(p: ManualPart): string {
  return `<!-- tito-manual score ${escapeHtml(p.module)} ${escapeHtml(p.submissionHash)} -->`;
}

function answerBegin(p: ManualPart, t: TestResult): string {
  return `<!-- tito-manual answer ${escapeHtml(p.module)} ${escapeHtml(t.gradeId)} -->`;
}

/** The score line: the automatic points, the points given by hand so far, and their sum. */
function manualScoreRegion(p: ManualPart): string {
  const given = p.answers.flatMap((t) => p.marks.get(t.gradeId)?.score ?? []);
  const manual = given.reduce((a, b) => a + b, 0);
  const waiting = p.answers.length - given.length;
  const still = waiting > 0 ? `; ${waiting} written answer${waiting === 1 ? "" : "s"} still to be graded` : ""; // prettier-ignore
  const line = `${waiting > 0 ? "Score so far" : "Score"}: ${points(p.score + manual)} / ${points(p.maxScore)} (${points(p.score)} / ${points(p.maxScore - p.manualMaxScore)} graded automatically, ${points(manual)} / ${points(p.manualMaxScore)} graded by hand${still})`; // prettier-ignore
  return region(scoreBegin(p), `<p class="score">${escapeHtml(line)}</p>`);
}

/** One answer: what the student wrote, and the score and comment once given. */
function manualAnswerRegion(p: ManualPart, t: TestResult): string {
  const mark = p.marks.get(t.gradeId);
  const lines = [
    '<div class="test manual">',
    `<span class="verdict">✍ ${escapeHtml(t.name)}: graded by hand</span>`,
    `<span class="points">${mark ? points(mark.score) : "not graded yet"} / ${points(t.maxScore)}</span>`, // prettier-ignore
    '<p class="printed">Your answer:</p>',
    `<pre class="answer">${escapeHtml(t.answer ?? "")}</pre>`,
  ];
  if (mark?.comment) lines.push('<p class="printed">Your instructor\'s comment:</p>', `<pre class="comment">${escapeHtml(mark.comment)}</pre>`); // prettier-ignore
  lines.push("</div>");
  return region(answerBegin(p, t), lines.join("\n"));
}

/**
 * The page with its manual parts drawn again from `p`; undefined when the page is not the one
 * for this attempt (another submission, or written before these markers existed).
 */
export function updateManualFeedback(page: string, p: ManualPart): string | undefined {
  const regions: Array<[string, string]> = [
    [scoreBegin(p), manualScoreRegion(p)],
    ...p.answers.map((t): [string, string] => [answerBegin(p, t), manualAnswerRegion(p, t)]),
  ];
  let out = page;
  for (const [begin, html] of regions) {
    const at = out.indexOf(begin);
    const end = at < 0 ? -1 : out.indexOf(MANUAL_END, at);
    if (end < 0) return undefined;
    out = out.slice(0, at) + html + out.slice(end + MANUAL_END.length);
  }
  return out;
}
