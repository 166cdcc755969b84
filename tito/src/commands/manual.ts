// `tito manual --module NN [--question ID | --import FILE]` (instructor command): written
// answers graded by hand. Lists a module's questions and how far their grading has come, writes
// one question's grading page and CSV template, or records a file of scores.
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join, relative, resolve } from "node:path";
import {
  findManifest,
  formatPoints,
  Gradebook,
  importScores,
  logLine,
  manualAnswers,
  manualProgress,
  manualQuestions,
  manualTemplateCsv,
  readManifest,
  renderManualPage,
  safeName,
  studentLabels,
  type ScoreChanges,
} from "@tinytorch-ts/grader";
import { coursePath, resolveCourseRoot, runCommand, UsageError, writeFileAtomic, type GradingManifest, type OptionValues } from "@tinytorch-ts/core"; // prettier-ignore
import { spec } from "./manual.args";

type Options = OptionValues<typeof spec.options>;

export function run(args: string[]): Promise<number> {
  return runCommand(spec, args, async ({ values: o }) => {
    if (o.module === undefined && o.manifest === undefined) throw new UsageError("--module is required"); // prettier-ignore
    if (o.import !== undefined && o.question !== undefined) {
      throw new UsageError("--import takes the questions from the file: leave out --question");
    }
    if ((o.page !== undefined || o.template !== undefined) && o.question === undefined) {
      throw new UsageError("--page and --template go with --question");
    }
    if (o.grader !== undefined && o.import === undefined) throw new UsageError("--grader goes with --import"); // prettier-ignore
    const manifests = coursePath(resolveCourseRoot(o.root), "manifests");
    const { manifest } = readManifest(o.manifest ?? findManifest(o.module ?? "", manifests));
    const outDir = resolve(o.out);
    const dbPath = join(outDir, "gradebook.sqlite");
    if (!existsSync(dbPath)) {
      console.error(`tito manual: no gradebook at ${dbPath} (run tito grade first, or give --out)`);
      return 1;
    }
    if (manualQuestions(manifest).length === 0) {
      console.error(`tito manual: ${manifest.module} has no questions graded by hand`);
      return 1;
    }
    const book = await Gradebook.open(dbPath);
    try {
      if (o.import !== undefined) return importFile(book, manifest, o.import, o, outDir);
      if (o.question !== undefined) return writePage(book, manifest, o.question, o, outDir);
      return list(book, manifest);
    } finally {
      book.close();
    }
  });
}

/** A path to print: relative to where the instructor is, unless that climbs out of it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

function list(book: Gradebook, manifest: GradingManifest): number {
  const progress = manualProgress(book, manifest);
  console.log(`${manifest.module}: questions graded by hand`);
  const width = Math.max(...progress.map((p) => p.question.id.length));
  for (const p of progress) {
    const earlier = p.scoredEarlier > 0 ? ` (${p.scoredEarlier} scored before a resubmission)` : ""; // prettier-ignore
    const points = `${formatPoints(p.question.points)} pt${p.question.points === 1 ? "" : "s"}`;
    console.log(`  ${p.question.id.padEnd(width)}  ${points.padStart(7)}  ${p.awaiting} to score, ${p.scored} scored${earlier}`); // prettier-ignore
  }
  const awaiting = progress.reduce((n, p) => n + p.awaiting, 0);
  console.log(
    awaiting > 0
      ? `${awaiting} answer(s) to score: tito manual --module ${manifest.module} --question ID writes a question's page and template`
      : "every answer is scored",
  );
  return 0;
}

function writePage(
  book: Gradebook,
  manifest: GradingManifest,
  questionId: string,
  o: Options,
  outDir: string,
): number {
  const questions = manualQuestions(manifest);
  const question = questions.find((q) => q.id === questionId);
  if (!question) {
    throw new UsageError(`${manifest.module} has no question ${JSON.stringify(questionId)} graded by hand (its questions: ${questions.map((q) => q.id).join(", ")})`); // prettier-ignore
  }
  const answers = manualAnswers(book, manifest, question.id);
  const labels = studentLabels(book, answers.map((a) => a.student), o.names); // prettier-ignore
  const input = { module: manifest.module, question, answers, labels };
  const page = resolve(o.page ?? join(outDir, "manual", safeName(manifest.module), `${safeName(question.id)}.html`)); // prettier-ignore
  const template = resolve(o.template ?? `${page.replace(/\.html?$/i, "")}.csv`);
  writeFileAtomic(page, renderManualPage(input));
  writeFileAtomic(template, manualTemplateCsv(input));
  const scored = answers.filter((a) => a.current !== undefined).length;
  console.log(`wrote ${shown(page)}: ${answers.length} answer(s), ${scored} scored, ${answers.length - scored} to score`); // prettier-ignore
  console.log(`wrote ${shown(template)}: fill in score and comment, then`);
  console.log(`  tito manual --module ${manifest.module} --import ${shown(template)}`);
  return 0;
}

function importFile(
  book: Gradebook,
  manifest: GradingManifest,
  file: string,
  o: Options,
  outDir: string,
): number {
  let text: string;
  try {
    text = readFileSync(resolve(file), "utf8");
  } catch (e) {
    console.error(`tito manual: ${file}: cannot read it (${(e as Error).message})`);
    return 2;
  }
  const outcome = importScores(book, manifest, file, text, { outDir, grader: o.grader ?? whoAmI() }); // prettier-ignore
  if (outcome.errors.length > 0) {
    console.error(`tito manual: nothing was recorded: ${outcome.errors.length} problem(s) in ${file}`); // prettier-ignore
    for (const e of outcome.errors) console.error(logLine(e));
    return 2;
  }
  const changes = outcome.changes as ScoreChanges;
  // Say who changed as the page showed them: by pseudonym, unless --names.
  const students = [...changes.added, ...changes.changed, ...changes.confirmed, ...changes.unchanged]; // prettier-ignore
  const labels = studentLabels(book, students.map((s) => s.student), o.names); // prettier-ignore
  const who = (student: string) => logLine(labels.get(student) ?? student);
  console.log(`${file}: ${changes.added.length} new, ${changes.changed.length} changed, ${changes.confirmed.length} confirmed for a newer attempt, ${changes.unchanged.length} unchanged${outcome.unscored ? `; ${outcome.unscored} row(s) without a score left for later` : ""}`); // prettier-ignore
  for (const s of changes.added) console.log(`  new      ${who(s.student)}  ${s.question}  ${formatPoints(s.score)}`); // prettier-ignore
  for (const s of changes.changed) {
    const note = s.previous.score === s.score ? "comment changed" : `${formatPoints(s.previous.score)} -> ${formatPoints(s.score)}`; // prettier-ignore
    console.log(`  changed  ${who(s.student)}  ${s.question}  ${note}`);
  }
  for (const s of changes.confirmed) console.log(`  confirmed ${who(s.student)}  ${s.question}  ${formatPoints(s.score)}`); // prettier-ignore
  const feedback = outcome.feedback;
  if (feedback) {
    console.log(`feedback pages updated: ${feedback.updated.length}`);
    if (feedback.missing.length > 0) console.log(`  no page (grade them to write one): ${feedback.missing.map(who).join(", ")}`); // prettier-ignore
    if (feedback.stale.length > 0) console.log(`  page of another attempt, left as it is: ${feedback.stale.map(who).join(", ")}`); // prettier-ignore
  }
  return 0;
}

/** The instructor's user name, for the history; none when the system has no name for them. */
function whoAmI(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}
