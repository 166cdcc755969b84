// test-tier: kernel
// Module 19_benchmarking end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("19_benchmarking");
