// test-tier: kernel
// Module 02_activations end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("02_activations");
