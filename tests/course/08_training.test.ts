// test-tier: kernel
// Module 08_training end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("08_training");
