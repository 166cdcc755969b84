// How generated package text is laid out. Exported code is written as its module's author
// wrote it (module sources are reviewed like any code), and the generated package is left out
// of `prettier --check`: formatting thousands of generated lines with prettier cost several
// seconds per build and bought nothing a reader needs. Rendering still goes through a
// Formatter, the one place to plug a layout step back in.

/** Formats one self-contained piece of TypeScript; the result ends with one newline. */
export type Formatter = (text: string) => Promise<string>;

/** The text as generated, with exactly one trailing newline. */
export const noFormatting: Formatter = (text) => Promise.resolve(text.trimEnd() + "\n");
