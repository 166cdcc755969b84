// The gradebook: a SQLite file (through sql.js, so no native module) with one row per student ×
// module × attempt, the submission's hash, the per-test results and the tamper notes. Each
// attempt is written in one transaction, and the file is replaced atomically after each one, so
// an interrupted batch leaves a consistent gradebook and a rerun continues where it stopped.
import { existsSync, readFileSync } from "node:fs";
import initSqlJs from "sql.js";
import type { Database } from "sql.js";
import { writeFileAtomic } from "@tinytorch-ts/core";
import {
  CAPSTONE_SCHEMA,
  capstoneEntries,
  insertCapstone,
  type CapstoneEntry,
} from "./gradebook-capstone";
import { moduleTotals, type ModuleTotal } from "./gradebook-totals";
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
CREATE TABLE IF NOT EXISTS manual_scores (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  student TEXT NOT NULL,
  module TEXT NOT NULL,
  question TEXT NOT NULL,
  score REAL NOT NULL,
  max_score REAL NOT NULL,
  comment TEXT,
  grader TEXT,
  source TEXT,
  recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

/**
 * Columns added since the first gradebooks were written: an older file gains them when opened
 * (with defaults that mean "unknown" or "none"), so no term's gradebook is ever left behind.
 */
const ADDED_COLUMNS: Array<[table: string, column: string, definition: string]> = [
  // When the student submitted (ISO 8601): the file's time, or the submissions list's.
  ["attempts", "submitted_at", "TEXT"],
  // The due date that applied to this student (extensions included), if the course has one.
  ["attempts", "due_at", "TEXT"],
  ["attempts", "late_seconds", "REAL NOT NULL DEFAULT 0"],
  // The fraction of the total taken off for lateness (0 none, 1 past the cut-off): the raw
  // score stays as it was, so a changed policy or a late extension never loses it.
  ["attempts", "penalty", "REAL NOT NULL DEFAULT 0"],
  // Points of the answers graded by hand (part of max_score; scored in manual_scores).
  ["attempts", "manual_max", "REAL NOT NULL DEFAULT 0"],
  ["test_results", "answer", "TEXT"],
  // A test with named parts: its parts as JSON ([{name, score, maxScore, passed, hidden}]).
  ["test_results", "parts", "TEXT"],
];

export interface AttemptRow {
  student: string;
  module: string;
  attempt: number;
  submission_hash: string;
  manifest_hash: string;
  status: string;
  reason: string | null;
  /** Points earned automatically. */
  score: number;
  /** Every point of the module (automatic and by hand). */
  max_score: number;
  started_at: string;
  finished_at: string;
  execution_ms: number;
  submitted_at: string | null;
  due_at: string | null;
  late_seconds: number;
  penalty: number;
  manual_max: number;
}

/** One score given by hand (the latest per student, module and question counts). */
export interface ManualScoreRow {
  student: string;
  module: string;
  question: string;
  score: number;
  max_score: number;
  comment: string | null;
  grader: string | null;
  source: string | null;
  recorded_at: string;
}

/** An answer graded by hand, as a student's latest attempt on the module recorded it. */
export interface ManualAnswerRow {
  student: string;
  module: string;
  attempt: number;
  /** The answer cell's grade_id. */
  question: string;
  max_score: number;
  /** What the student wrote (clipped by the grader); null when the attempt recorded none. */
  answer: string | null;
  /** When that attempt was graded: a score given before then was given to an earlier answer. */
  finished_at: string;
}

/** What an attempt adds to a result that grading itself does not know: time and lateness. */
export interface AttemptContext {
  submittedAt?: string;
  dueAt?: string;
  lateSeconds?: number;
  /** Fraction of the total taken off (0..1). */
  penalty?: number;
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
    db.exec(CAPSTONE_SCHEMA);
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const have = db.exec(`SELECT 1 FROM pragma_table_info('${table}') WHERE name = '${column}'`);
      if (have.length === 0) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
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
  record(r: SubmissionResult, context: AttemptContext = {}): number {
    const student = r.student ?? "(unknown)";
    this.db.exec("BEGIN");
    try {
      const next = this.query<{ n: number }>(
        "SELECT COALESCE(MAX(attempt), 0) + 1 AS n FROM attempts WHERE student = ? AND module = ?",
        [student, r.module],
      )[0].n;
      this.db.run(
        `INSERT INTO attempts (student, module, attempt, submission_hash, manifest_hash, status,
           reason, score, max_score, started_at, finished_at, execution_ms, isolation,
           submitted_at, due_at, late_seconds, penalty, manual_max)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [student, r.module, next, r.submissionHash, r.manifestHash, r.status, r.reason ?? null,
          r.score, r.maxScore, r.startedAt, r.finishedAt, r.executionTimeMs, r.isolation.join("; "),
          context.submittedAt ?? null, context.dueAt ?? null, context.lateSeconds ?? 0,
          context.penalty ?? 0, r.manualMaxScore ?? 0], // prettier-ignore
      );
      const id = this.query<{ id: number }>("SELECT last_insert_rowid() AS id")[0].id;
      for (const t of r.tests) {
        this.db.run(
          `INSERT INTO test_results (attempt_id, grade_id, name, status, score, max_score,
             message, answer, parts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [id, t.gradeId, t.name, t.status, t.score, t.maxScore, t.message ?? null,
            t.answer ?? null, t.parts ? JSON.stringify(t.parts) : null], // prettier-ignore
        );
      }
      for (const n of r.tampering) {
        this.db.run("INSERT INTO tamper_notes VALUES (?, ?, ?, ?)", [id, n.kind, n.cell ?? null, n.message]); // prettier-ignore
      }
      if (r.capstone) insertCapstone(this.db, id, r.capstone);
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
         max_score, started_at, finished_at, execution_ms, submitted_at, due_at, late_seconds,
         penalty, manual_max FROM attempts ${where}
       ORDER BY student, module, attempt`,
    );
  }

  /**
   * Records scores given by hand, all or none, and saves the file. Earlier scores stay: the
   * latest per student, module and question counts (`manualScores`), the rest is history.
   */
  recordManual(
    rows: Array<Omit<ManualScoreRow, "recorded_at">>,
    at = new Date().toISOString(),
  ): void {
    // prettier-ignore
    this.db.exec("BEGIN");
    try {
      for (const m of rows) {
        this.db.run(
          `INSERT INTO manual_scores (student, module, question, score, max_score, comment, grader,
             source, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [m.student, m.module, m.question, m.score, m.max_score, m.comment, m.grader, m.source, at], // prettier-ignore
        );
      }
      this.db.exec("COMMIT");
      this.save();
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** The scores given by hand that count: the latest per student, module and question. */
  manualScores(module?: string): ManualScoreRow[] {
    return this.query<ManualScoreRow>(
      `SELECT student, module, question, score, max_score, comment, grader, source, recorded_at
       FROM manual_scores m WHERE id = (SELECT MAX(id) FROM manual_scores b WHERE
         b.student = m.student AND b.module = m.module AND b.question = m.question)
       ${module === undefined ? "" : "AND module = ?"}
       ORDER BY student, module, question`,
      module === undefined ? [] : [module],
    );
  }

  /** Every score ever given by hand, oldest first (the history). */
  manualHistory(student: string, module: string): ManualScoreRow[] {
    return this.query<ManualScoreRow>(
      `SELECT student, module, question, score, max_score, comment, grader, source, recorded_at
       FROM manual_scores WHERE student = ? AND module = ? ORDER BY id`,
      [student, module],
    );
  }

  /**
   * The answers graded by hand of each student's latest attempt (on `module`, or every module),
   * ordered by student, module and question. Earlier attempts' answers are history: the latest
   * attempt is the one that is graded.
   */
  manualAnswers(module?: string): ManualAnswerRow[] {
    return this.query<ManualAnswerRow>(
      `SELECT a.student, a.module, a.attempt, t.grade_id AS question, t.max_score, t.answer,
         a.finished_at
       FROM attempts a JOIN test_results t ON t.attempt_id = a.id
       WHERE t.status = 'manual' AND a.attempt = (SELECT MAX(attempt) FROM attempts b
         WHERE b.student = a.student AND b.module = a.module)
       ${module === undefined ? "" : "AND a.module = ?"}
       ORDER BY a.student, a.module, t.grade_id`,
      module === undefined ? [] : [module],
    );
  }

  /**
   * One total per student × module that has an attempt (on `module`, or every module): the
   * latest attempt's automatic points plus the points given by hand so far, after the late
   * penalty. The contract is `moduleTotals`' (gradebook-totals.ts).
   */
  totals(module?: string): ModuleTotal[] {
    const latest = this.attempts(true).filter((a) => module === undefined || a.module === module); // prettier-ignore
    return moduleTotals(latest, this.manualAnswers(module), this.manualScores(module));
  }

  /** Each student's latest capstone attempt on `module`, with what the grader measured of it. */
  capstone(module: string): CapstoneEntry[] {
    return capstoneEntries((sql, params) => this.query(sql, params), module);
  }

  /** A value kept with the gradebook (for example the key pseudonyms are made with). */
  meta(key: string, init?: () => string): string | undefined {
    const row = this.query<{ value: string }>("SELECT value FROM meta WHERE key = ?", [key])[0];
    if (row || !init) return row?.value;
    const value = init();
    this.db.run("INSERT INTO meta (key, value) VALUES (?, ?)", [key, value]);
    this.save();
    return value;
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
