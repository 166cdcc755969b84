// Turns a finished job into counts and one readable block, printed whole when the job ends, so
// the output of parallel jobs never interleaves. Test files report through uvu's summary; a
// check counts as one test.
import type { JobResult } from "./pool";

export interface Verdict {
  passed: number;
  failed: number;
  /** The block to print: a status line, then the job's output when it failed. */
  block: string;
}

/** The last lines of the output, indented under the status line. */
function indent(text: string, maxLines = 80): string {
  const lines = text.trimEnd().split("\n").slice(-maxLines);
  return lines.map((l) => `     ${l}`).join("\n");
}

function why(r: JobResult): string {
  if (r.timedOut) return `timed out after ${r.seconds.toFixed(0)}s`;
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  return r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
}

function uvuCount(output: string, label: string): number | undefined {
  const m = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`, "m").exec(output);
  return m ? Number(m[1]) : undefined;
}

/** Printed under a failed fast-tier file whose output shows the kernel launcher refusing. */
const MARKER_HINT =
  "     this file starts a kernel: make `// test-tier: kernel` its first line (docs/contributing.md)";

export function judge(r: JobResult): Verdict {
  const v = judgeOutput(r);
  const refused = r.job.tier === "fast" && r.output.includes("TITO_TEST_TIER=fast");
  return v.failed > 0 && refused ? { ...v, block: `${v.block}\n${MARKER_HINT}` } : v;
}

function judgeOutput(r: JobResult): Verdict {
  const secs = `${r.seconds.toFixed(1)}s`;
  const clean = r.code === 0 && !r.timedOut && !r.spawnError;
  if (r.job.kind === "check") {
    if (clean) return { passed: 1, failed: 0, block: `ok   ${r.job.name} (${secs})` };
    return { passed: 0, failed: 1, block: `FAIL ${r.job.name} (${secs}): ${why(r)}\n${indent(r.output)}` }; // prettier-ignore
  }
  const total = uvuCount(r.output, "Total");
  const ok = uvuCount(r.output, "Passed");
  const skipped = uvuCount(r.output, "Skipped") ?? 0;
  if (total === undefined || ok === undefined) {
    // No uvu summary: the file crashed, timed out or never ran its suites.
    const block = `FAIL ${r.job.name} (${secs}): no test summary (${why(r)})\n${indent(r.output)}`;
    return { passed: 0, failed: 1, block };
  }
  // A file whose tests all passed but which then exited non-zero (a late crash) is one failure.
  const bad = total - ok - skipped + (!clean && total === ok + skipped ? 1 : 0);
  if (bad === 0) return { passed: ok, failed: 0, block: `ok   ${r.job.name} (${secs}): ${ok} passed` }; // prettier-ignore
  const head = `FAIL ${r.job.name} (${secs}): ${ok} passed, ${bad} failed${clean ? "" : ` (${why(r)})`}`; // prettier-ignore
  return { passed: ok, failed: bad, block: `${head}\n${indent(r.output)}` };
}

/** The slowest jobs, for the end of the report. */
export function slowest(results: JobResult[], n = 5): string[] {
  return [...results]
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, n)
    .map((r) => `  ${r.seconds.toFixed(1).padStart(7)}s  ${r.job.name}`);
}

export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - m * 60);
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${seconds.toFixed(1)}s`;
}
