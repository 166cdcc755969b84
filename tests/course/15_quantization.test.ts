// test-tier: kernel
// Module 15_quantization end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("15_quantization");
