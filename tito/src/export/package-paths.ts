// Package paths: a module's `default_exp core.tensor` (or `//| export nn.layers`) names a file of
// the tinytorch-ts package, `tinytorch-ts/src/core/tensor.ts`, imported by notebooks and other
// modules as "tinytorch-ts/core/tensor". Inside the package those imports become relative.
import { posix } from "node:path";

const DOTTED = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/;

/** The package prefix by which notebooks import generated modules and kit support. */
export const PACKAGE_NAME = "tinytorch-ts";

/** Hand-written support code lives here; no module may export into it. */
export const SUPPORT_DIR = "support";

/** "core.tensor" -> "core/tensor", or an explanation of what is wrong with it. */
export function dottedToPackagePath(dotted: string): { path: string } | { problem: string } {
  if (!DOTTED.test(dotted)) {
    return {
      problem: `'${dotted}' is not a dotted package path like core.tensor (lower-case letters, digits, _)`,
    };
  }
  const path = dotted.split(".").join("/");
  if (path === "index") return { problem: "'index' is reserved for the package index" };
  if (path === SUPPORT_DIR || path.startsWith(`${SUPPORT_DIR}/`)) {
    return { problem: `'${dotted}' is inside support/, which holds hand-written kit code` };
  }
  return { path };
}

/** The package path a specifier like "tinytorch-ts/core/tensor" names, or undefined. */
export function packagePathOf(specifier: string): string | undefined {
  if (specifier === PACKAGE_NAME) return "";
  if (!specifier.startsWith(`${PACKAGE_NAME}/`)) return undefined;
  return specifier.slice(PACKAGE_NAME.length + 1);
}

/** The relative specifier from one package file to another: ("core/a", "support/chart") -> "../support/chart". */
export function relativeSpecifier(fromPath: string, toPath: string): string {
  const rel = posix.relative(posix.dirname(fromPath), toPath);
  return rel.startsWith(".") ? rel : `./${rel}`;
}
