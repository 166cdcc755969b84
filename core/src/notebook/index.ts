// The notebook format library: percent-format TypeScript sources and .ipynb files, the in-cell
// marker and directive syntax, and the module validator. See docs/module-format.md.
export * from "./types";
export * from "./cell-roles";
export { decodeUtf8 } from "./decode";
export { parsePercent, writePercent, isMagicLine, type ParsedSource } from "./percent";
export { parseIpynb, writeIpynb, splitLinesKeepEnds } from "./ipynb";
export {
  findRegions,
  parseDirectives,
  isDirectiveLine,
  stripDirectives,
  misplacedDirectiveLines,
  SOLUTION_ROLES,
  type Region,
  type RegionKind,
  type SolutionRole,
  type Directive,
} from "./markers";
export { validateModule, checkCanonical, GRADE_ID_RE, KNOWN_DIRECTIVES } from "./validate";
export { assignCellIds, isValidCellId, moduleNameFromPath, CELL_ID_RE } from "./cell-ids";
export { checkRoundTrips, kindOfPath, type SourceKind } from "./roundtrip";
export {
  lastCopies,
  mergeStudentWork,
  mergedSolutionSource,
  studentCellsById,
  type LastCopies,
  type MergeResult,
} from "./merge";
