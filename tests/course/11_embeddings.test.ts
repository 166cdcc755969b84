// test-tier: kernel
// Module 11_embeddings end to end: reference run, full marks, 0 points untouched (see course-checks.ts).
import { courseModuleTests } from "./course-checks";

courseModuleTests("11_embeddings");
