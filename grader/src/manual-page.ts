// The instructor's page for one question graded by hand: the rubric and the model answer at the
// top, then every student's latest answer with its current score and comment; and the CSV
// template to fill in beside it. Answers are student input and may hold markup or scripts, so
// every string is HTML-escaped, and the page is self-contained (no scripts, no external
// resources). Answers are ordered by how each student is shown (their pseudonym), never by id:
// an alphabetical order would give the names away.
import { escapeHtml, htmlPage } from "./html-page";
import { csvField } from "./gradebook-csv";
import { formatPoints } from "./gradebook-totals";
import type { ManualAnswer, ManualQuestion } from "./manual";

export interface ManualPageInput {
  module: string;
  question: ManualQuestion;
  answers: ManualAnswer[];
  /** How each student is shown: a pseudonym, or the id with --names. */
  labels: ReadonlyMap<string, string>;
}

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; margin: 0; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
.key { border: 1px solid #1565c0; border-radius: 6px; padding: .5rem .75rem; }
.answer { border: 1px solid #ddd; border-left: 6px solid #bbb; border-radius: 6px; margin: .75rem 0; padding: .5rem .75rem; }
.answer.scored { border-left-color: #2e7d32; }
.status { float: right; font-weight: 600; }
.note { background: #fff8e1; padding: .25rem .5rem; border-radius: 4px; }
`;

function label(input: ManualPageInput, student: string): string {
  return input.labels.get(student) ?? student;
}

/** The answers in the order the page and the template show them. */
function inOrder(input: ManualPageInput): ManualAnswer[] {
  return [...input.answers].sort((a, b) => (label(input, a.student) < label(input, b.student) ? -1 : 1)); // prettier-ignore
}

function answerBlock(input: ManualPageInput, a: ManualAnswer): string {
  const who = escapeHtml(label(input, a.student));
  const points = formatPoints(input.question.points);
  const status = a.current ? `${formatPoints(a.current.score)} / ${points}` : `not scored / ${points}`; // prettier-ignore
  const lines = [
    `<section class="answer${a.current ? " scored" : ""}" id="${who}">`,
    `<h3>${who} <small>(attempt ${a.attempt})</small><span class="status">${status}</span></h3>`,
  ];
  if (a.current?.comment) lines.push(`<p>Comment:</p><pre class="comment">${escapeHtml(a.current.comment)}</pre>`); // prettier-ignore
  if (a.scoredEarlier) {
    lines.push(`<p class="note">Scored ${escapeHtml(a.current?.recorded_at ?? "")}, before this attempt was graded (${escapeHtml(a.gradedAt)}): the answer may have changed since.</p>`); // prettier-ignore
  }
  if (a.unchanged) lines.push('<p class="note">Unchanged from the notebook: nothing was written.</p>'); // prettier-ignore
  lines.push(`<pre class="text">${escapeHtml(a.answer)}</pre>`, "</section>");
  return lines.join("\n");
}

export function renderManualPage(input: ManualPageInput): string {
  const q = input.question;
  const answers = inOrder(input);
  const scored = answers.filter((a) => a.current !== undefined).length;
  const title = `${input.module}: ${q.id}`;
  const body = [
    `<h1>${escapeHtml(title)} (${formatPoints(q.points)} point${q.points === 1 ? "" : "s"}, graded by hand)</h1>`, // prettier-ignore
    `<p>${answers.length} answer(s): ${scored} scored, ${answers.length - scored} to score. Scores go in the CSV template beside this page; <code>tito manual --module ${escapeHtml(input.module)} --import FILE</code> records them.</p>`, // prettier-ignore
    '<div class="key">',
    "<h2>Rubric</h2>",
    q.rubric !== undefined
      ? `<pre class="rubric">${escapeHtml(q.rubric)}</pre>`
      : "<p>(The module source has no rubric for this question: add one between ### BEGIN RUBRIC and ### END RUBRIC in its cell.)</p>", // prettier-ignore
    "<h2>Model answer</h2>",
    `<pre class="model">${escapeHtml(q.modelAnswer)}</pre>`,
    "<h2>The cell as students got it</h2>",
    `<pre class="prompt">${escapeHtml(q.studentSource)}</pre>`,
    "</div>",
    "<h2>Answers</h2>",
    ...answers.map((a) => answerBlock(input, a)),
  ];
  if (answers.length === 0) body.push("<p>(No attempt in the gradebook answers this question yet.)</p>"); // prettier-ignore
  return htmlPage(title, STYLE, body);
}

/** The columns of a file of scores, in the template's order. */
export const SCORE_COLUMNS = ["student", "question", "score", "comment"] as const;

/**
 * The CSV to fill in: one row per answer, in the page's order, with the current score and
 * comment when there is one. Fields go through `csvField`, so an id a spreadsheet would read as a
 * formula stays text (the import takes the guard off again).
 */
export function manualTemplateCsv(input: ManualPageInput): string {
  const lines = [SCORE_COLUMNS.join(",")];
  for (const a of inOrder(input)) {
    const row = [label(input, a.student), a.question, a.current?.score ?? "", a.current?.comment ?? ""]; // prettier-ignore
    lines.push(row.map(csvField).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
