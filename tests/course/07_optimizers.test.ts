// test-tier: kernel
// Module 07_optimizers end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("07_optimizers");
