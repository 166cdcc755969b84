// `tito release <dir>`: the reference audit, the student bundle, then the leak audit. Every
// module's reference must pass its own tests first (reference-audit.ts); if one does not,
// nothing is written. The bundle is assembled in a staging directory beside <dir>; only a bundle
// that compiles and passes the leak audit is moved to <dir>. A rejected bundle is kept as
// <dir>.rejected so the reported file:line leaks can be read.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { findCourseRoot, writeFileAtomic, SourceError, coursePath } from "@tinytorch-ts/core";
import { writeIpynb, type Notebook } from "@tinytorch-ts/core/notebook";
import { collectExports } from "../export/collect";
import { exportNotebook } from "../export/export-notebook";
import { checkImports, findPackageImports } from "../export/import-check";
import { renderIndex } from "../export/package-file";
import { supportPaths } from "../build/build-course";
import { listModules } from "../build/discover";
import { parseModuleForBuild, type CellLine } from "../build/module-build";
import { runPipeline } from "../build/pipeline";
import { compilePackage } from "../student/compile-package";
import { STUDENT_PROVENANCE, studentOrigins } from "../student/package-origins";
import {
  WORKSPACE_DIR,
  type CourseFile,
  type CourseModuleEntry,
  type ReleasedModule,
} from "../student/workspace";
import type { ReleaseTier } from "../transforms/strip-solutions";
import { copyKitFiles, writePackageMetadata } from "./bundle-files";
import { auditBundle, type Leak } from "./leak-audit";
import { auditReferences } from "./reference-audit";
import { collectSecrets, type SourceForAudit } from "./secret-lines";
import { studentReadme } from "./student-readme";
import { findMilestones } from "../commands/milestone";
import { isSolutionCell } from "../transforms/cells";

export interface ReleaseOptions {
  outDir: string;
  root?: string;
  tier?: ReleaseTier;
  /** Pipeline stages to leave out: only to prove the audit catches a broken pipeline. */
  skipStages?: string[];
  /**
   * Whether every module's reference is first run against its own tests (about 10 s per
   * module). Default "run"; "skip" only when asked for explicitly (`--skip-reference-audit`,
   * or a test about the bundle itself).
   */
  referenceAudit?: "run" | "skip";
  /** Called as each module's reference is audited (progress for a run of minutes). */
  onReferenceAudit?: (module: string) => void;
}

export interface ReleaseReport {
  ok: boolean;
  outDir: string;
  /** Where the bundle is: outDir on success, outDir + ".rejected" on failure (if it got that far). */
  bundle?: string;
  errors: SourceError[];
  /** Each module's reference problems ("module: problem"); any stops the release unwritten. */
  referenceProblems: string[];
  compileErrors: string[];
  leaks: Leak[];
  modules: string[];
  secretLines: number;
}

interface Loaded {
  module: string;
  number: string;
  sourceFile: string;
  notebook: Notebook;
  cellLine: CellLine;
}

function loadModules(root: string): { loaded: Loaded[]; errors: SourceError[] } {
  const loaded: Loaded[] = [];
  const errors: SourceError[] = [];
  for (const info of listModules(root)) {
    // As the build reads it: mutation cells (wrong answers, for the audit) never reach a bundle.
    const p = parseModuleForBuild(info, readFileSync(info.path, "utf8"));
    if (!p.ok) errors.push(...p.errors);
    else loaded.push({ ...info, notebook: p.notebook, cellLine: p.cellLine });
  }
  if (errors.length > 0) return { loaded, errors };
  const infos = loaded.map((m) => {
    const exports = collectExports(m.notebook, m.sourceFile, { line: m.cellLine });
    return {
      ...m,
      targets: exports.targets,
      extendedBy: exports.extendedBy,
      exportedImports: exports.exportedImports,
      imports: findPackageImports(m.notebook, m.cellLine),
    };
  });
  return { loaded, errors: checkImports(infos, supportPaths(root)) };
}

/** An existing directory may be replaced only if it is empty or an earlier bundle. */
function replaceable(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).length === 0 || existsSync(join(dir, WORKSPACE_DIR, "course.json"));
}

export async function releaseCourse(options: ReleaseOptions): Promise<ReleaseReport> {
  const root = options.root ?? findCourseRoot();
  const tier = options.tier ?? "default";
  const skip = options.skipStages ?? [];
  const outDir = resolve(options.outDir);
  const report: ReleaseReport = {
    ok: false,
    outDir,
    errors: [],
    referenceProblems: [],
    compileErrors: [],
    leaks: [],
    modules: [],
    secretLines: 0,
  };
  if (!replaceable(outDir)) {
    throw new Error(`${outDir} exists and is not a student bundle: choose a new directory`);
  }
  const { loaded, errors } = loadModules(root);
  report.errors = errors;
  if (errors.length > 0) return report;
  report.modules = loaded.map((m) => m.module);
  if (options.referenceAudit !== "skip") {
    report.referenceProblems = await auditReferences(root, loaded, options.onReferenceAudit);
    if (report.referenceProblems.length > 0) return report;
  }

  const staging = `${outDir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    return await assemble(root, tier, skip, loaded, staging, report);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function assemble(
  root: string,
  tier: ReleaseTier,
  skip: string[],
  loaded: Loaded[],
  staging: string,
  report: ReleaseReport,
): Promise<ReleaseReport> {
  const outDir = report.outDir;
  const entries: CourseModuleEntry[] = [];
  const targets: string[] = [];
  /** Whether some notebook asks for a written answer (a markdown solution cell). */
  let writtenAnswers = false;
  for (const m of loaded) {
    const notebookPath = `notebooks/${m.module}.ipynb`;
    const student = runPipeline(m.notebook, "student", tier, skip);
    const pkg = runPipeline(m.notebook, "package", tier, skip);
    const origins = studentOrigins(notebookPath, pkg, student);
    writtenAnswers ||= student.cells.some((c) => c.cell_type === "markdown" && isSolutionCell(c));
    writeFileAtomic(join(staging, notebookPath), writeIpynb(student));
    const exported = await exportNotebook(
      pkg,
      notebookPath,
      { line: m.cellLine, origin: (i) => origins[i] ?? notebookPath },
      STUDENT_PROVENANCE(notebookPath),
    );
    for (const t of exported.targets) {
      writeFileAtomic(coursePath(staging, "packageSrc", `${t}.ts`), exported.files[t] ?? "");
      targets.push(t);
    }
    const released: ReleasedModule = {
      schema: 1,
      module: m.module,
      number: m.number,
      notebook: notebookPath,
      studentNotebook: student,
      packageNotebook: pkg,
      origins,
    };
    writeFileAtomic(
      join(staging, WORKSPACE_DIR, "modules", `${m.module}.json`),
      JSON.stringify(released) + "\n",
    );
    entries.push({
      number: m.number,
      module: m.module,
      notebook: notebookPath,
      targets: exported.targets,
    });
  }
  writeFileAtomic(coursePath(staging, "packageSrc", "index.ts"), renderIndex(targets));
  const course: CourseFile = { schema: 1, tier, modules: entries };
  writeFileAtomic(
    join(staging, WORKSPACE_DIR, "course.json"),
    JSON.stringify(course, null, 2) + "\n",
  );
  const milestones = [...findMilestones(join(root, "milestones")).keys()];
  writeFileAtomic(
    join(staging, "README.md"),
    studentReadme(entries, { tier, writtenAnswers, milestones }),
  );
  const kitFiles = copyKitFiles(root, staging);
  writePackageMetadata(root, staging);

  const compiled = compilePackage(join(staging, "tinytorch-ts"));
  report.compileErrors = compiled.errors.map((e) => `tinytorch-ts/${e}`);

  const sources: SourceForAudit[] = loaded.map((m) => ({
    sourceFile: m.sourceFile,
    notebook: m.notebook,
    cellLine: m.cellLine,
  }));
  const secrets = collectSecrets(
    sources,
    tier,
    kitFiles.map((f) => readFileSync(f, "utf8")),
  );
  report.secretLines = secrets.size;
  report.leaks = auditBundle(staging, secrets);

  // Lets the kernel resolve "tinytorch-ts/..." to this bundle's package before `npm install`
  // (which recreates the same link for the workspace). Made after the audit, which skips links.
  mkdirSync(join(staging, "node_modules"), { recursive: true });
  symlinkSync(join("..", "tinytorch-ts"), join(staging, "node_modules", "tinytorch-ts"), "dir");

  report.ok = report.compileErrors.length === 0 && report.leaks.length === 0;
  const final = report.ok ? outDir : `${outDir}.rejected`;
  rmSync(final, { recursive: true, force: true });
  mkdirSync(dirname(final), { recursive: true });
  renameSync(staging, final);
  report.bundle = final;
  return report;
}
