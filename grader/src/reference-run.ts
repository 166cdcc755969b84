// The trusted side of every verdict: the module's reference solution run with the very test
// cells the student's kernel runs (instrument.ts), on the same seed, in a process of the
// grader's that never sees the student. The program is compiled once per module
// (reference-program.ts), then each submission's seed costs one short Node process that
// executes the compiled JavaScript (reference-runner.cjs): no TypeScript at grading time, so
// the trusted run does not slow grading down.
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KIT_ROOT, runProcess, type GradingManifest } from "@tinytorch-ts/core";
import type { TestRecords } from "tinytorch-ts/support/checks";
import {
  compileReference,
  REFERENCE_CACHE_DIR,
  ReferenceError,
  type CompiledCell,
  type CompiledMutation,
  type CompiledProgram,
  type ReferenceVariant,
} from "./reference-program";
import { defaultPackageSource, kitContents, type PackageSource } from "./kit";
import { makeScratch, type Scratch } from "./scratch";

export { ReferenceError, referencePlan, type ReferenceVariant } from "./reference-program";

export interface ReferenceRecords {
  /** What each test cell recorded, by grade_id. */
  records: Map<string, TestRecords>;
  /** Cells of the reference run that failed (a broken reference: no verdict can be trusted). */
  failed: Array<{ index: number; error: string }>;
  /** What each branch's test recorded (null: nothing), by the branch's key. */
  branches: Map<string, BranchOutcome>;
}

/**
 * Another version of one cell, run in the same walk as the reference (the audit's mutations):
 * its code in place of cell `at`, then the cells after it through the test cell `through`.
 */
export interface Branch {
  key: string;
  at: number;
  through: number;
  cell: CompiledCell;
  /** Each of the branch's cells gets this long. */
  timeoutMs: number;
}

export interface BranchOutcome {
  records: TestRecords | null;
  /** Set when the branch stopped (a cell ran out of time). */
  error?: string;
}

export interface ReferenceRunnerOptions {
  /** Parent of the runner's scratch directory. */
  scratchRoot: string;
  packageSource?: PackageSource;
  /** The course whose compiled reference package is run (default: the kit's). */
  courseRoot?: string;
  cacheDir?: string;
  /** The longest one reference run may take (the notebook's time limit). */
  timeoutMs: number;
  /** Default "graded". */
  variant?: ReferenceVariant;
}

/** Runs a module's reference for any seed; one per module per batch. */
export class ReferenceRunner {
  private constructor(
    readonly manifest: GradingManifest,
    private readonly scratch: Scratch,
    readonly program: CompiledProgram,
    /** The module's mutations, compiled to swap into the graded program. */
    readonly mutations: CompiledMutation[],
    private readonly timeoutMs: number,
  ) {}

  static async open(
    manifest: GradingManifest,
    opts: ReferenceRunnerOptions,
  ): Promise<ReferenceRunner> {
    // prettier-ignore
    const source = opts.packageSource ?? defaultPackageSource(opts.courseRoot ?? KIT_ROOT);
    const variant = opts.variant ?? "graded";
    // The whole notebook's demos may load the module's own exports (a worker requires its
    // package path), as in a student's Jupyter after `tito export`: that run, which never sees
    // a student, gets the whole package; a graded run never does.
    // A trusted run shares the module's kit: no student code runs in it.
    const scratch = makeScratch(opts.scratchRoot, manifest, source, undefined, { wholePackage: variant === "full", shareKit: true }); // prettier-ignore
    try {
      // Keyed by what the restricted kit holds (what a student's kernel compiles against), for
      // every variant: the full run and the graded runs share one compile.
      const programs = await compileReference(manifest, scratch.kitDir, opts.cacheDir ?? REFERENCE_CACHE_DIR, kitContents(manifest, source)); // prettier-ignore
      return new ReferenceRunner(manifest, scratch, programs[variant], programs.mutations, opts.timeoutMs); // prettier-ignore
    } catch (e) {
      await scratch.remove();
      throw e;
    }
  }

  /**
   * The reference's records for one seed; `replace` swaps one cell's code (the audit runs a
   * mutation this way), and `timeoutMs` overrides the run's limit.
   */
  async run(
    seed: number,
    opts: { replace?: CompiledCell; timeoutMs?: number; through?: string; branches?: Branch[] } = {}, // prettier-ignore
  ): Promise<ReferenceRecords> {
    const replace = opts.replace;
    let cells = replace ? this.program.map((c) => (c.index === replace.index ? { ...replace, test: c.test } : c)) : this.program; // prettier-ignore
    // Nothing after a test can change what it recorded.
    if (opts.through !== undefined) {
      const end = cells.findIndex((c) => c.test === opts.through);
      if (end >= 0) cells = cells.slice(0, end + 1);
    }
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const resultPath = join(this.scratch.hostTmpDir, `result-${randomBytes(6).toString("hex")}.json`); // prettier-ignore
    try {
      const r = await runProcess(process.execPath, [join(__dirname, "reference-runner.cjs")], {
        timeoutMs,
        cwd: this.scratch.kitDir,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: this.scratch.kitDir,
          TMPDIR: this.scratch.hostTmpDir,
          LANG: "C.UTF-8",
        },
        input: JSON.stringify({ seed, resultPath, cells, branches: opts.branches ?? [] }),
      });
      if (r.timedOut) throw new ReferenceError(`the reference run of ${this.manifest.module} took longer than ${timeoutMs / 1000} s`); // prettier-ignore
      let parsed: { records: Record<string, TestRecords>; failed: ReferenceRecords["failed"]; branches?: Record<string, BranchOutcome> }; // prettier-ignore
      try {
        parsed = JSON.parse(readFileSync(resultPath, "utf8")) as typeof parsed;
      } catch {
        throw new ReferenceError(`the reference run of ${this.manifest.module} ended without a result (${r.error ?? `exit ${r.code}, signal ${r.signal}`}): ${r.stderr.slice(0, 500)}`); // prettier-ignore
      }
      return {
        records: new Map(Object.entries(parsed.records)),
        failed: parsed.failed,
        branches: new Map(Object.entries(parsed.branches ?? {})),
      };
    } finally {
      rmSync(resultPath, { force: true });
    }
  }

  close(): Promise<void> {
    return this.scratch.remove();
  }
}
