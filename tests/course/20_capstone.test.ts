// test-tier: kernel
// Module 20_capstone end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("20_capstone");
