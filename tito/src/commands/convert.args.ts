// The options of `tito convert`.
import { defineCommand, flag, oneOf, option, text } from "@tinytorch-ts/core";

export const spec = defineCommand({
  program: "tito convert",
  usage: ["<file> [--to ipynb|ts] [--out F] [--check]", "--check <file>..."],
  description: `<file> is a module source (.ts, percent format) or a notebook (.ipynb).`,
  options: {
    to: option(
      oneOf(["ipynb", "ts"] as const),
      "the format to write; the same format rewrites the file in canonical form",
      undefined,
      "the other one",
    ),
    out: {
      ...option(text("F"), "output path; '-' for stdout", undefined, "the input path with the new extension"), // prettier-ignore
      short: "o",
    },
    check: flag(
      "write nothing; verify that .ts -> .ipynb -> .ts is byte-identical and that\n.ipynb -> .ts -> .ipynb keeps every cell's type, source and metadata",
    ),
  },
  positionals: { min: 1, max: Infinity, missing: "give a .ts or .ipynb file" },
});
