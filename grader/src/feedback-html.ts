// The feedback page a student receives: the score, notes about their notebook, each test with
// its verdict, failure message and output, and the cells they wrote. Only what is in a
// SubmissionResult appears, and that is already free of hidden-test text; every string is
// HTML-escaped (student output is untrusted and may contain markup). The page is self-contained:
// no scripts, no external resources.
import { writeFileAtomic } from "@tinytorch-ts/core";
import type { Lateness } from "./late-policy";
import { lateLine, PRINTED_HEADER } from "./results-json";
import type { SubmissionResult, TestResult } from "./types";

/** What the page shows beyond the result itself. */
export interface FeedbackOptions {
  /** How late the submission was, when the course has a due date for it. */
  late?: Lateness;
  /** grade_ids of the tests with hidden checks (`hiddenTestIds(manifest)`). */
  hiddenTests?: ReadonlySet<string>;
}

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
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
  if (t.answer !== undefined) parts.push(`<p class="printed">Your answer:</p>`, `<pre class="answer">${escapeHtml(t.answer)}</pre>`); // prettier-ignore
  if (t.output.trim() !== "") {
    parts.push(`<p class="printed">${escapeHtml(PRINTED_HEADER)}</p>`, `<pre class="output">${escapeHtml(t.output)}</pre>`); // prettier-ignore
  }
  parts.push("</div>");
  return parts.join("\n");
}

export function renderFeedback(r: SubmissionResult, opts: FeedbackOptions = {}): string {
  const who = r.student ? ` for ${escapeHtml(r.student)}` : "";
  const body: string[] = [
    `<h1>Module ${escapeHtml(r.module)}: feedback${who}</h1>`,
    `<p class="score">Score: ${r.score} / ${r.maxScore}</p>`,
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
  body.push("<h2>Tests</h2>", ...r.tests.map((t) => testBlock(t, opts.hiddenTests)));
  if (r.studentCells.length > 0) {
    body.push("<h2>Your cells</h2>");
    for (const c of r.studentCells) {
      const label = c.stub ? " (missing: the empty exercise was graded)" : "";
      body.push(`<h3>${escapeHtml(c.gradeId)}${label}</h3>`, `<pre>${escapeHtml(c.source)}</pre>`);
    }
  }
  body.push(`<p><small>Graded ${escapeHtml(r.finishedAt)} · submission ${escapeHtml(r.submissionHash.slice(0, 12))}</small></p>`); // prettier-ignore
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(r.module)} feedback</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...body,
    "</body></html>",
    "",
  ].join("\n");
}

export function writeFeedback(path: string, r: SubmissionResult, opts: FeedbackOptions = {}): void {
  writeFileAtomic(path, renderFeedback(r, opts));
}
