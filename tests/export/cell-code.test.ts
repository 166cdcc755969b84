import { test } from "uvu";
import * as assert from "uvu/assert";
import { prepareExportCell } from "../../tito/src/export/cell-code";
import { SourceError } from "@tinytorch-ts/core";

test("adds export to every kind of top-level declaration, after JSDoc", () => {
  const src = [
    "//| export",
    "/** A tensor. */",
    "class Tensor {}",
    "abstract class Base {}",
    "async function load(): Promise<void> {}",
    "const EPS = 1e-7, TWO = 2;",
    "let counter = 0;",
    "interface Shape { dims: number[] }",
    "type Dtype = 'float32';",
    "enum Mode { A, B }",
    "const enum Flag { X }",
    "declare const tslabOnly: number;",
    "namespace Util { export const x = 1; }",
  ].join("\n");
  const out = prepareExportCell(src, true, "m.ts", 10);
  assert.ok(out.code.startsWith("/** A tensor. */\nexport class Tensor {}"), out.code);
  for (const decl of [
    "export abstract class Base",
    "export async function load",
    "export const EPS = 1e-7, TWO = 2;",
    "export let counter",
    "export interface Shape",
    "export type Dtype",
    "export enum Mode",
    "export const enum Flag",
    "export declare const tslabOnly",
    "export namespace Util { export const x = 1; }",
  ]) {
    assert.ok(out.code.includes(decl), `missing: ${decl}\n${out.code}`);
  }
  assert.not.ok(out.code.includes("//| export"), "directive line kept");
  assert.equal(out.exported, [
    "Tensor",
    "Base",
    "load",
    "EPS",
    "TWO",
    "counter",
    "Shape",
    "Dtype",
    "Mode",
    "Flag",
    "tslabOnly",
    "Util",
  ]);
});

test("leaves nested declarations, strings, comments and statements alone", () => {
  const src = [
    "function outer() {",
    "  class Inner {}",
    "  const hidden = 1;",
    "  return new Inner();",
    "}",
    'const text = "class Fake {}";',
    "// function commented() {}",
    "console.log(text);",
    "declare global { interface Window { x: number } }",
  ].join("\n");
  const out = prepareExportCell(src, true, "m.ts", 1);
  assert.ok(out.code.includes("export function outer"));
  assert.ok(out.code.includes("  class Inner {}"));
  assert.ok(out.code.includes("  const hidden = 1;"));
  assert.ok(out.code.includes('export const text = "class Fake {}";'));
  assert.ok(out.code.includes("// function commented() {}"));
  assert.ok(out.code.includes("\nconsole.log(text);"));
  assert.ok(out.code.includes("\ndeclare global"));
  assert.equal(out.exported, ["outer", "text"]);
});

test("overloads all get export; existing export is not doubled", () => {
  const src =
    "function f(x: number): number;\nfunction f(x: string): string;\nfunction f(x: any) { return x; }\nexport const y = 1;";
  const out = prepareExportCell(src, true, "m.ts", 1);
  assert.is(out.code.split("export function f").length - 1, 3);
  assert.ok(out.code.includes("export const y = 1;"));
  assert.not.ok(out.code.includes("export export"));
});

test("exporti keeps declarations internal", () => {
  const out = prepareExportCell("//| exporti\nfunction helper() {}", false, "m.ts", 1);
  assert.is(out.code, "function helper() {}");
  assert.equal(out.exported, []);
});

test("takes imports out of the code, with their line and bindings", () => {
  const src = [
    "//| export",
    'import { Tensor, type Shape as S } from "tinytorch-ts/core/tensor";',
    'import * as fs from "node:fs";',
    'import def, { a } from "x";',
    'import "side-effect";',
    'import cp = require("node:child_process");',
    "class A {}",
  ].join("\n");
  const out = prepareExportCell(src, true, "m.ts", 1);
  assert.is(out.code, "export class A {}");
  const [t, ns, d, se, rq] = out.imports;
  assert.equal(t?.named, ["Tensor", "type Shape as S"]);
  assert.is(t?.specifier, "tinytorch-ts/core/tensor");
  assert.is(t?.line, 1);
  assert.is(ns?.namespace, "fs");
  assert.is(d?.defaultName, "def");
  assert.equal(d?.named, ["a"]);
  assert.is(se?.sideEffect, true);
  assert.is(rq?.requireName, "cp");
});

test("a syntax error is a SourceError at the right source line", () => {
  try {
    prepareExportCell("//| export\nclass A {\n  method( {\n}", true, "modules/01_x/x_dev.ts", 20);
    assert.unreachable("no error");
  } catch (e) {
    assert.instance(e, SourceError);
    const err = e as SourceError;
    assert.is(err.file, "modules/01_x/x_dev.ts");
    assert.ok(err.line !== undefined && err.line >= 22 && err.line <= 23, String(err.line));
  }
});

test.run();
