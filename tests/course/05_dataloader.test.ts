// test-tier: kernel
// Module 05_dataloader end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("05_dataloader");
