// @tinytorch-ts/core: the contract the build, the CLI and the grader share. This entry is
// deliberately light (no kernel, no notebook parser) so that any command may import it; the
// heavier parts have their own entries: `@tinytorch-ts/core/notebook`, `/kernel` and `/run`.
export { SourceError, isSourceError } from "./errors";
export { writeFileAtomic } from "./atomic";
export type * from "./manifest-types";
export { DEFAULT_GRADING_LIMITS, type GradingLimits } from "./grading-limits";
export * from "./args";
export { COURSE_PATHS, KIT_ROOT, coursePath, findCourseRoot, resolveCourseRoot, type CoursePart } from "./course-root"; // prettier-ignore
export { cellChecksum, type ChecksummedCell, type ChecksummedFlags } from "./checksum";
export { TRAINING_HEAP_FLAG, tuneHeapForTraining } from "./training-heap";
export {
  runProcess,
  runProcessSync,
  DEFAULT_MAX_OUTPUT_BYTES,
  type ProcessResult,
  type RunProcessOptions,
} from "./process-run";
