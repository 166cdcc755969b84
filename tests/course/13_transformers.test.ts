// test-tier: kernel
// Module 13_transformers end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("13_transformers");
