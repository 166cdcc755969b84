// @tinytorch-ts/grader: the autograder library behind `tito grade`, `tito audit`,
// `tito gradebook`, `tito gradescope` and `tito manual`. See docs/grading.md.
export { gradeSubmission, GRADING_STAGES, type GradeOptions } from "./grade-submission";
export {
  prepareKernel,
  DEFAULT_LIMITS,
  GraderSetupError,
  type KernelLimits,
  type PreparedKernel,
  type SessionOptions,
} from "./kernel-session";
export { reconstruct, type PlannedCell, type Reconstruction } from "./reconstruct";
export { parseSubmission, type ParsedSubmission, type SubmittedCell } from "./submission";
export {
  instrument,
  planManifest,
  preambleCode,
  GRADING_MIME,
  type KernelCell,
} from "./instrument";
export { ReferenceRunner, ReferenceError, referencePlan, type ReferenceRecords } from "./reference-run"; // prettier-ignore
export { judgeTest, readRecords, referenceFailures, type TestVerdict } from "./score";
export { hiddenFragments, redact } from "./sanitize";
export {
  gradeBatch,
  feedbackPath,
  resultsPath,
  type BatchOptions,
  type BatchSummary,
} from "./batch";
export {
  findSubmissions,
  readSubmissionFile,
  readSubmissionBytes,
  findCompanionFile,
  DEFAULT_MAX_SUBMISSION_BYTES,
  type FindSubmissionsOptions,
  type ReadSubmission,
  type Submission,
} from "./submissions-folder";
export { Gradebook, type AttemptRow } from "./gradebook";
export { gradebookCsv } from "./gradebook-csv";
export { toGradescope, writeResultsJson, type GradescopeResults } from "./results-json";
export { renderFeedback, writeFeedback } from "./feedback-html";
export { manualQuestions, manualProgress, pseudonymKey, manualAnswers, studentLabels, pseudonym, type ManualQuestion, type ManualAnswer, type QuestionProgress } from "./manual"; // prettier-ignore
export { renderManualPage, manualTemplateCsv, SCORE_COLUMNS } from "./manual-page";
export { importScores, checkScores, compareScores, type ImportOutcome, type ScoreChanges } from "./manual-import"; // prettier-ignore
export { readScoreFile, type ScoreFileRow } from "./manual-score-file";
export { refreshManualFeedback, manualMarksFor, type FeedbackRefresh } from "./manual-feedback";
export { moduleTotals, formatPoints, type ModuleTotal } from "./gradebook-totals";
export { auditModule, formatAudit, studentNotebookPath, type ModuleAudit } from "./audit";
export { buildGradescopeZip, writeGradescopeZip } from "./gradescope-bundle";
export { gradescopeRun } from "./gradescope-run";
export { findManifest, listManifests, readManifest, type LoadedManifest } from "./manifest-store";
export { ProgressBar } from "./progress";
export { compiledPackageDir } from "./kit";
export { referenceNotebook } from "./reference";
export { planSandbox, sandboxCapabilities, SANDBOX_USER } from "./sandbox";
export type * from "./types";
export { logLine, safeName, stripControl } from "./names";
// A term of grading: the course file, late work, submission times.
export {
  COURSE_FILE_NAME,
  CourseFileError,
  loadCourseSettings,
  parseCourseFile,
  readCourseFile,
  type CourseSettings,
} from "./course-file";
export { describeLateness, lateness, type LatePolicy, type Lateness } from "./late-policy";
export { readSubmissionTimes, SubmissionTimesError } from "./submission-times";
export { auditReference } from "./audit";
export { summarizeGradebook, buildSummary, type ClassSummary } from "./summary";
export { summaryCsv } from "./summary-csv";
export { summaryHtml } from "./summary-html";
// The capstone (module 20): model files measured by the grader, and the class leaderboard.
export {
  addCapstoneEvents,
  capstoneHash,
  capstoneRules,
  isCapstone,
  measureCapstone,
  readCapstoneModel,
  type CapstoneEventResult,
  type CapstoneModelFile,
  type CapstoneOptions,
  type CapstoneRecord,
} from "./capstone";
export { type CapstoneEntry } from "./gradebook-capstone";
export { buildLeaderboard, leaderboardCsv, type Leaderboard, type EventBoard } from "./leaderboard";
export { leaderboardHtml, paretoChart } from "./leaderboard-html";
