// test-tier: kernel
// Module 06_autograd end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("06_autograd");
