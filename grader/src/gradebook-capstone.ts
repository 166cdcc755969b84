// The gradebook's capstone table: for each attempt of a capstone (module 20), what the grader
// measured of its model file. Written in the attempt's own transaction (Gradebook.record), read
// by `tito leaderboard`. A gradebook written before the capstone existed gains the table when
// it is opened (CAPSTONE_SCHEMA is part of the gradebook's schema, all CREATE IF NOT EXISTS).
import type { Database } from "sql.js";
import type { CapstoneEventResult, CapstoneRecord, CapstoneStatus } from "./capstone";

export const CAPSTONE_SCHEMA = `
CREATE TABLE IF NOT EXISTS capstone_measurements (
  attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id),
  status TEXT NOT NULL,
  reason TEXT,
  model_file TEXT NOT NULL,
  model_sha256 TEXT,
  model_bytes INTEGER,
  seed INTEGER,
  accuracy REAL,
  clean_accuracy REAL,
  perturbed_accuracy REAL,
  relative_latency REAL,
  p50_s REAL,
  baseline_p50_s REAL,
  composite REAL,
  measurement TEXT,
  events TEXT NOT NULL
);
`;

/** Writes an attempt's capstone record (inside the caller's transaction). */
export function insertCapstone(db: Database, attemptId: number, c: CapstoneRecord): void {
  const m = c.measurement;
  db.run(
    `INSERT INTO capstone_measurements (attempt_id, status, reason, model_file, model_sha256,
       model_bytes, seed, accuracy, clean_accuracy, perturbed_accuracy, relative_latency, p50_s,
       baseline_p50_s, composite, measurement, events)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [attemptId, c.status, c.reason ?? null, c.modelFile, c.modelSha256 ?? null, c.modelBytes ?? null,
      c.seed ?? null, m?.accuracy.value ?? null, m?.cleanAccuracy ?? null, m?.perturbedAccuracy ?? null,
      m?.relativeLatency.value ?? null, m?.p50S.value ?? null, m?.baselineP50S.value ?? null,
      m?.composite.value ?? null, m ? JSON.stringify(m) : null, JSON.stringify(c.events)], // prettier-ignore
  );
}

/** A student's latest attempt on the capstone, with what was measured of it. */
export interface CapstoneEntry {
  student: string;
  attempt: number;
  /** The attempt's status (graded, rejected, error). */
  attemptStatus: string;
  finishedAt: string;
  record: CapstoneRecord;
}

interface Row {
  student: string;
  attempt: number;
  attempt_status: string;
  finished_at: string;
  status: string;
  reason: string | null;
  model_file: string;
  model_sha256: string | null;
  model_bytes: number | null;
  seed: number | null;
  measurement: string | null;
  events: string;
}

/** Each student's latest attempt on `module` that has a capstone record, by student. */
export function capstoneEntries(
  query: <T>(sql: string, params?: Array<string | number | null>) => T[],
  module: string,
): CapstoneEntry[] {
  const rows = query<Row>(
    `SELECT a.student, a.attempt, a.status AS attempt_status, a.finished_at, c.status, c.reason,
       c.model_file, c.model_sha256, c.model_bytes, c.seed, c.measurement, c.events
     FROM attempts a JOIN capstone_measurements c ON c.attempt_id = a.id
     WHERE a.module = ? AND a.attempt = (SELECT MAX(attempt) FROM attempts b
       WHERE b.student = a.student AND b.module = a.module)
     ORDER BY a.student`,
    [module],
  );
  return rows.map((r) => ({
    student: r.student,
    attempt: r.attempt,
    attemptStatus: r.attempt_status,
    finishedAt: r.finished_at,
    record: {
      status: r.status as CapstoneStatus,
      ...(r.reason !== null ? { reason: r.reason } : {}),
      modelFile: r.model_file,
      ...(r.model_sha256 !== null ? { modelSha256: r.model_sha256 } : {}),
      ...(r.model_bytes !== null ? { modelBytes: r.model_bytes } : {}),
      ...(r.seed !== null ? { seed: r.seed } : {}),
      ...(r.measurement !== null ? { measurement: JSON.parse(r.measurement) as CapstoneRecord["measurement"] } : {}), // prettier-ignore
      events: JSON.parse(r.events) as CapstoneEventResult[],
    },
  }));
}
