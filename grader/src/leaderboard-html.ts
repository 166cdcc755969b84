// The leaderboard as one self-contained HTML page (no scripts, no external resources): a
// vega-lite Pareto chart of every measured submission (latency against size, coloured by
// accuracy, the front marked), rendered to SVG by the kit's chart support, then one table per
// event and a table of every entry. Labels are pseudonyms unless the instructor asked for names;
// every string is escaped (an id is a folder name a student chose).
import { renderChart, type ChartSpec } from "tinytorch-ts/support/chart";
import { escapeHtml, htmlPage } from "./html-page";
import type { EventBoard, Leaderboard, LeaderboardEntry } from "./leaderboard";

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th:nth-child(2), td:nth-child(2) { text-align: left; }
.note { color: #555; } .tie { color: #1565c0; }
`;

const pct = (x: number | undefined) => (x === undefined ? "" : `${(100 * x).toFixed(1)}%`);
const fixed = (x: number | undefined, digits: number) => (x === undefined ? "" : x.toFixed(digits));

/** How an event's figure reads: a percentage for accuracy, bytes as integers, ratios to 2 places. */
function figureText(eventId: string, x: number): string {
  if (eventId === "accuracy") return pct(x);
  if (eventId === "size") return String(Math.round(x));
  return x.toFixed(eventId === "all-round" ? 3 : 2);
}

/** Every measured entry: relative latency against bytes (log scales), coloured by accuracy. */
export function paretoChart(entries: readonly LeaderboardEntry[]): ChartSpec {
  const values = entries.flatMap((e) => {
    const m = e.record.measurement;
    if (!m) return [];
    return [{ who: e.label, latency: m.relativeLatency.value, bytes: m.bytes, accuracy: Math.round(1000 * m.accuracy.value) / 10, front: e.front ? "on the front" : "dominated" }]; // prettier-ignore
  });
  const x = { field: "latency", type: "quantitative", scale: { type: "log" }, title: "p50 latency, × the baseline's (log)" }; // prettier-ignore
  const y = {
    field: "bytes",
    type: "quantitative",
    scale: { type: "log" },
    title: "model file, bytes (log)",
  };
  return {
    title: "Every submission as the grader measured it (lower left is better; accuracy in colour)",
    width: 560,
    height: 340,
    data: { values },
    layer: [
      {
        mark: { type: "point", filled: true, size: 120 },
        encoding: {
          x,
          y,
          color: { field: "accuracy", type: "quantitative", title: "accuracy %", scale: { scheme: "viridis" } }, // prettier-ignore
          shape: { field: "front", type: "nominal", title: "Pareto front", scale: { domain: ["on the front", "dominated"], range: ["diamond", "circle"] } }, // prettier-ignore
        },
      },
      {
        mark: { type: "text", dx: 8, align: "left", fontSize: 10 },
        encoding: { x, y, text: { field: "who" } },
      },
    ],
  };
}

function eventSection(ev: EventBoard): string {
  const ties = new Set(ev.ranked.filter((r, i, all) => all.some((o, j) => j !== i && o.rank === r.rank)).map((r) => r.label)); // prettier-ignore
  const rows = ev.ranked
    .map(
      (r) =>
        `<tr><td>${r.rank}${ties.has(r.label) ? ' <span class="tie">(tie)</span>' : ""}</td><td>${escapeHtml(r.label)}</td><td>${figureText(ev.id, r.value)}</td><td>${figureText(ev.id, r.low)} – ${figureText(ev.id, r.high)}</td></tr>`,
    ) // prettier-ignore
    .join("\n");
  const others = ev.unranked
    .map((u) => `<li>${escapeHtml(u.label)}: ${escapeHtml(u.reason)}</li>`)
    .join("\n");
  return `<h2>${escapeHtml(ev.title)}</h2>
<p class="note">Constraint: ${escapeHtml(ev.constraint)}. Ranked by ${escapeHtml(ev.figure)}, ${ev.better} is better; entries inside the 95% interval of their group's first entry share its rank.</p>
${ev.ranked.length > 0 ? `<table><tr><th>rank</th><th>student</th><th>figure</th><th>95% interval</th></tr>\n${rows}</table>` : '<p class="note">No entry met the constraint.</p>'}
${others ? `<p class="note">Not ranked:</p><ul>${others}</ul>` : ""}`;
}

function entriesTable(entries: readonly LeaderboardEntry[]): string {
  const rows = entries.map((e) => {
    const m = e.record.measurement;
    return `<tr><td>${e.attempt}</td><td>${escapeHtml(e.label)}</td><td>${escapeHtml(e.record.status)}</td><td>${pct(m?.cleanAccuracy)}</td><td>${pct(m?.perturbedAccuracy)}</td><td>${fixed(m?.relativeLatency.value, 2)}</td><td>${m ? (m.p50S.value * 1e3).toFixed(3) : ""}</td><td>${e.record.modelBytes ?? ""}</td><td>${fixed(m?.composite.value, 3)}</td><td>${m ? (e.front ? "yes" : "no") : ""}</td></tr>`; // prettier-ignore
  });
  return `<table><tr><th>attempt</th><th>student</th><th>status</th><th>accuracy</th><th>perturbed</th><th>latency ×</th><th>p50 ms</th><th>bytes</th><th>composite</th><th>front</th></tr>
${rows.join("\n")}</table>`;
}

export async function leaderboardHtml(
  board: Leaderboard,
  generatedAt = new Date().toISOString(),
): Promise<string> {
  // prettier-ignore
  const measured = board.entries.filter((e) => e.record.measurement !== undefined);
  const chart = measured.length > 0 ? (await renderChart(paretoChart(board.entries))).svg : '<p class="note">Nothing measured yet.</p>'; // prettier-ignore
  return htmlPage(`${board.module}: leaderboard`, STYLE, [
    `<h1>${escapeHtml(board.module)}: leaderboard</h1>

<p class="note">Generated ${escapeHtml(generatedAt)} from the gradebook: each student's latest attempt. Every figure was measured by the grader, on its machine, from the submitted model file; nothing a submission claims is read. Latency is the p50 of single-digit queries divided by the course baseline's, measured alongside; accuracy is the lower of the test split's and a perturbed copy's.</p>
${chart}
${board.events.map(eventSection).join("\n")}
<h2>Every entry</h2>
${entriesTable(board.entries)}`,
  ]);
}
