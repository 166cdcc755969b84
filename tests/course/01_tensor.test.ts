// test-tier: kernel
// Module 01_tensor end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("01_tensor");
