// test-tier: kernel
// Module 16_compression end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("16_compression");
