// test-tier: kernel
// Module 14_profiling end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("14_profiling");
