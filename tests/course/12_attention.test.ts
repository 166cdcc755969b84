// test-tier: kernel
// Module 12_attention end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("12_attention");
