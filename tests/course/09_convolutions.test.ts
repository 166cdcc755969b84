// test-tier: kernel
// Module 09_convolutions end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("09_convolutions");
