// test-tier: kernel
// Module 10_tokenization end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("10_tokenization");
