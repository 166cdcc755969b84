// The class summary as one self-contained HTML page (no scripts, no external resources): per
// module, the distribution of totals (a vega-lite histogram) and how many students failed each
// test, most failed first (a vega-lite bar chart; per part for a test with parts), with the
// tables behind them; then every student's totals. Charts are rendered to SVG in Node by the
// kit's own chart support (tinytorch-ts/support/chart), the same code that draws the notebooks'
// charts. Student ids are file names students chose: every string is escaped, and no chart
// carries an id.
import { renderChart, type ChartSpec } from "tinytorch-ts/support/chart";
import { escapeHtml, htmlPage } from "./html-page";
import { formatPoints } from "./gradebook-totals";
import type { ClassSummary, FailureCount, ModuleSummary } from "./summary";
import { round2 } from "./summary";

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.empty { color: #666; }
`;

/**
 * Whole-number ticks 0..upper, at most about eight of them: counts of students have no halves
 * (vega's tickMinStep is not honoured by the renderer; ticks outside the domain are dropped).
 */
export function integerTicks(upper: number): number[] {
  const step = Math.max(1, Math.ceil(upper / 8));
  const ticks: number[] = [];
  for (let v = 0; v <= Math.max(1, upper); v += step) ticks.push(v);
  return ticks;
}

/** The histogram of a module's totals, binned over 0..max. */
export function totalsChart(m: ModuleSummary): ChartSpec {
  return {
    title: `${m.module}: totals`,
    width: 320,
    height: 160,
    data: { values: m.totals.map((t) => ({ total: round2(t.total) })) },
    mark: { type: "bar", color: "#1565c0" },
    encoding: {
      x: {
        field: "total",
        type: "quantitative",
        bin: { extent: [0, Math.max(1, m.maxScore)], maxbins: 10 },
        title: `total (of ${m.maxScore})`,
      },
      y: { aggregate: "count", type: "quantitative", title: "students", axis: { values: integerTicks(m.totals.length), format: "d" } }, // prettier-ignore
    },
  };
}

/** Students who failed each test (or part), most failed first, out of those graded. */
export function failuresChart(module: string, failures: FailureCount[]): ChartSpec {
  const graded = failures[0]?.graded ?? 0;
  return {
    title: `${module}: students who failed each test`,
    width: 320,
    height: { step: 18 },
    // Already sorted (most failed first, then by name): the chart keeps that order.
    data: { values: failures.map((f) => ({ test: f.label, failed: f.failed })) },
    mark: { type: "bar", color: "#c62828" },
    encoding: {
      y: { field: "test", type: "nominal", sort: null, title: null },
      x: {
        field: "failed",
        type: "quantitative",
        scale: { domain: [0, Math.max(1, graded)] },
        axis: { values: integerTicks(graded), format: "d" },
        title: `students (of ${graded} graded)`,
      },
    },
  };
}

function table(head: string[], rows: Array<Array<string | number>>): string {
  const cell = (tag: string) => (v: string | number) => `<${tag}>${escapeHtml(String(v))}</${tag}>`; // prettier-ignore
  return [
    "<table>",
    `<thead><tr>${head.map(cell("th")).join("")}</tr></thead>`,
    "<tbody>",
    ...rows.map((r) => `<tr>${r.map(cell("td")).join("")}</tr>`),
    "</tbody></table>",
  ].join("\n");
}

async function moduleSection(m: ModuleSummary): Promise<string> {
  const out = [`<h2 id="${escapeHtml(m.module)}">${escapeHtml(m.module)}</h2>`];
  const totals = m.totals.map((t) => t.total);
  const mean = totals.reduce((a, b) => a + b, 0) / Math.max(1, totals.length);
  out.push(`<p>${totals.length} student(s); mean total ${formatPoints(mean)} of ${formatPoints(m.maxScore)}.</p>`); // prettier-ignore
  const charts = [(await renderChart(totalsChart(m))).svg];
  if (m.failures.length > 0) charts.push((await renderChart(failuresChart(m.module, m.failures))).svg); // prettier-ignore
  out.push(`<div class="charts">${charts.map((svg) => `<figure>${svg}</figure>`).join("")}</div>`);
  if (m.failures.length === 0) {
    out.push('<p class="empty">No graded attempt yet: no test results to count.</p>');
  } else {
    out.push(table(["test", "failed", "of graded"], m.failures.map((f) => [f.label, f.failed, f.graded]))); // prettier-ignore
  }
  return out.join("\n");
}

function studentsTable(s: ClassSummary): string {
  const head = ["student", ...s.modules.map((m) => `${m.module} (of ${formatPoints(m.maxScore)})`), `course (of ${formatPoints(s.courseMax)})`]; // prettier-ignore
  const rows = s.students.map((student) => [
    student,
    ...s.modules.map((m) => {
      const t = s.byStudent.get(student)?.get(m.module);
      if (t === undefined) return "—";
      const late = t.penalty > 0 ? ` (−${formatPoints(t.penalty * 100)}%)` : "";
      return `${formatPoints(t.total)}${late}`;
    }),
    formatPoints(s.courseTotal(student)),
  ]);
  return table(head, rows);
}

/** The page. Deterministic for a given gradebook (no clock): two runs give the same bytes. */
export async function summaryHtml(s: ClassSummary, title = "Class summary"): Promise<string> {
  const sections: string[] = [];
  for (const m of s.modules) sections.push(await moduleSection(m));
  return htmlPage(title, STYLE, [
    `<h1>${escapeHtml(title)}</h1>`,
    "<p>Each module's total is the latest attempt's automatic points plus the points given by hand, after the late penalty.</p>", // prettier-ignore
    ...sections,
    "<h2>Students</h2>",
    s.students.length > 0 ? studentsTable(s) : '<p class="empty">No attempts yet.</p>',
  ]);
}
