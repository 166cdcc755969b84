// tito's build as a library (`tito/build`): what bench:build measures and what tests drive
// without a process per build. The command itself is commands/build.ts.
export { buildCourse } from "./build-course";
export { listModules, type ModuleInfo } from "./discover";
export { buildModule, type ModuleResult, type ModuleOutcome } from "./module-build";
