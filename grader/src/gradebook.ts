// The gradebook: a SQLite file (through sql.js, so no native module) with one row per student ×
// module × attempt, the submission's hash, the per-test results and the tamper notes. Each
// attempt is written in one transaction, and the file is replaced atomically after each one, so
// an interrupted batch leaves a consistent gradebook and a rerun continues where it stopped.
import { existsSync, readFileSync } from "node:fs";
import initSqlJs from "sql.js";
import type { Database } from "sql.js";
import { writeFileAtomic } from "@tinytorch-ts/core";
import type { SubmissionResult } from "./types";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  submission_hash TEXT NOT NULL,
  manifest_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  reason TEXT,
  score REAL NOT NULL,
  max_score REAL NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  execution_ms INTEGER NOT NULL,
  isolation TEXT NOT NULL,
  UNIQUE (student, module, attempt)
);
CREATE TABLE IF NOT EXISTS test_results (
  attempt_id INTEGER NOT NULL REFERENCES attempts(id),
  grade_id TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  score REAL NOT NULL,
  max_score REAL NOT NULL,
  message TEXT,
  PRIMARY KEY (attempt_id, grade_id)
);
CREATE TABLE IF NOT EXISTS tamper_notes (
  attempt_id INTEGER NOT NULL REFERENCES attempts(id),
  kind TEXT NOT NULL,
  cell TEXT,
  message TEXT NOT NULL
);
`;

export interface AttemptRow {
  student: string;
  module: string;
  attempt: number;
  submission_hash: string;
  manifest_hash: string;
  status: string;
  reason: string | null;
  score: number;
  max_score: number;
  started_at: string;
  finished_at: string;
  execution_ms: number;
}

type Sql = Awaited<ReturnType<typeof initSqlJs>>;
let sqlPromise: Promise<Sql> | undefined;

export class Gradebook {
  private constructor(
    private readonly db: Database,
    readonly path: string,
  ) {}

  static async open(path: string): Promise<Gradebook> {
    sqlPromise ??= initSqlJs();
    const SQL = await sqlPromise;
    const db = existsSync(path) ? new SQL.Database(readFileSync(path)) : new SQL.Database();
    db.exec(SCHEMA);
    return new Gradebook(db, path);
  }

  /** The latest attempt of a student on a module, if any. */
  latest(student: string, module: string): AttemptRow | undefined {
    const rows = this.query<AttemptRow>(
      "SELECT * FROM attempts WHERE student = ? AND module = ? ORDER BY attempt DESC LIMIT 1",
      [student, module],
    );
    return rows[0];
  }

  /**
   * True when this exact submission was already graded against this exact manifest (and the
   * grader did not fail on it): a rerun skips it.
   */
  isUpToDate(
    student: string,
    module: string,
    submissionHash: string,
    manifestHash: string,
  ): boolean {
    // prettier-ignore
    const last = this.latest(student, module);
    return (
      last !== undefined &&
      last.submission_hash === submissionHash &&
      last.manifest_hash === manifestHash &&
      last.status !== "error"
    );
  }

  /** Records one attempt (all rows or none) and saves the file atomically. */
  record(r: SubmissionResult): number {
    const student = r.student ?? "(unknown)";
    this.db.exec("BEGIN");
    try {
      const next = this.query<{ n: number }>(
        "SELECT COALESCE(MAX(attempt), 0) + 1 AS n FROM attempts WHERE student = ? AND module = ?",
        [student, r.module],
      )[0].n;
      this.db.run(
        `INSERT INTO attempts (student, module, attempt, submission_hash, manifest_hash, status,
           reason, score, max_score, started_at, finished_at, execution_ms, isolation)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [student, r.module, next, r.submissionHash, r.manifestHash, r.status, r.reason ?? null,
          r.score, r.maxScore, r.startedAt, r.finishedAt, r.executionTimeMs, r.isolation.join("; ")], // prettier-ignore
      );
      const id = this.query<{ id: number }>("SELECT last_insert_rowid() AS id")[0].id;
      for (const t of r.tests) {
        this.db.run(
          "INSERT INTO test_results VALUES (?, ?, ?, ?, ?, ?, ?)",
          [id, t.gradeId, t.name, t.status, t.score, t.maxScore, t.message ?? null], // prettier-ignore
        );
      }
      for (const n of r.tampering) {
        this.db.run("INSERT INTO tamper_notes VALUES (?, ?, ?, ?)", [id, n.kind, n.cell ?? null, n.message]); // prettier-ignore
      }
      this.db.exec("COMMIT");
      this.save();
      return next;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Every attempt (or only each student's latest per module), oldest first. */
  attempts(latestOnly = false): AttemptRow[] {
    const where = latestOnly
      ? `WHERE attempt = (SELECT MAX(attempt) FROM attempts b
           WHERE b.student = attempts.student AND b.module = attempts.module)`
      : "";
    return this.query<AttemptRow>(
      `SELECT student, module, attempt, submission_hash, manifest_hash, status, reason, score,
         max_score, started_at, finished_at, execution_ms FROM attempts ${where}
       ORDER BY student, module, attempt`,
    );
  }

  query<T>(sql: string, params: Array<string | number | null> = []): T[] {
    const stmt = this.db.prepare(sql);
    try {
      stmt.bind(params);
      const out: T[] = [];
      while (stmt.step()) out.push(stmt.getAsObject() as T);
      return out;
    } finally {
      stmt.free();
    }
  }

  save(): void {
    writeFileAtomic(this.path, this.db.export());
  }

  close(): void {
    this.db.close();
  }
}
