// How long each job took last time, so the pool can start the longest first. Kept in
// .tito-cache/test-times.json (gitignored): a machine's own history, not a shared fact. Without
// history a job gets a static weight: kernel files before the rest, the course files first.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Job } from "./jobs";

const FORMAT_VERSION = 1;

export type Timings = Map<string, number>;

interface TimingsFile {
  version: number;
  /** Seconds by job name. */
  seconds: Record<string, number>;
}

/** Reads the history; a missing, unreadable or foreign file is no history, never an error. */
export function loadTimings(file: string): Timings {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return new Map();
  }
  const data = parsed as Partial<TimingsFile> | null;
  if (data?.version !== FORMAT_VERSION || typeof data.seconds !== "object" || !data.seconds) {
    return new Map();
  }
  const out: Timings = new Map();
  for (const [name, secs] of Object.entries(data.seconds)) {
    if (typeof secs === "number" && Number.isFinite(secs) && secs >= 0) out.set(name, secs);
  }
  return out;
}

/** Merges this run's durations into the history and writes it (temporary file, then rename). */
export function saveTimings(file: string, previous: Timings, measured: Timings): void {
  const merged = new Map([...previous, ...measured]);
  const seconds = Object.fromEntries(
    [...merged].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, round1(v)]),
  );
  const text = JSON.stringify({ version: FORMAT_VERSION, seconds }, null, 2) + "\n";
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** A guess in seconds for a job never timed here. Only the order of the guesses matters. */
export function staticWeight(job: Job): number {
  if (job.kind === "check") return 20;
  if (job.tier === "kernel") return job.name.startsWith("tests/course/") ? 300 : 60;
  return 3;
}

/** Longest first: recorded duration, else the static weight; ties keep discovery order. */
export function longestFirst(jobs: Job[], timings: Timings): Job[] {
  const cost = (j: Job) => timings.get(j.name) ?? staticWeight(j);
  return jobs
    .map((job, i) => ({ job, i, c: cost(job) }))
    .sort((a, b) => b.c - a.c || a.i - b.i)
    .map((x) => x.job);
}
