// jupytext's percent format for TypeScript, read and written (docs/module-format.md): the reader
// lives in percent-read.ts, the writer in percent-write.ts.
export { parsePercent, isMagicLine, type ParsedSource } from "./percent-read";
export { writePercent, textMetadata } from "./percent-write";
