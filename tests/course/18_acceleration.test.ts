// test-tier: kernel
// Module 18_acceleration end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("18_acceleration");
