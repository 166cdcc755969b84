// test-tier: kernel
// Module 03_layers end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("03_layers");
