// test-tier: kernel
// Module 04_losses end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("04_losses");
