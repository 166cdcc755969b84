// test-tier: kernel
// Module 17_memoization end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("17_memoization");
