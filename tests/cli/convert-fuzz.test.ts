// Fuzz-style robustness: mutate valid sources and notebooks (truncation, random bytes, swapped
// markers, deleted and duplicated lines, structural JSON damage) and require either a clean
// result or a SourceError, never another exception, never a partial or temporary file. Clean
// results must also be stable: converting the output again gives the same text (a fixpoint).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { convertFile } from "../../tito/src/commands/convert";
import { SourceError } from "@tinytorch-ts/core";
import {
  parseIpynb,
  writeIpynb,
  parsePercent,
  writePercent,
  validateModule,
} from "@tinytorch-ts/core/notebook";
import { fixtureNames, readFixture } from "../notebook/helpers";

/** A small deterministic PRNG (mulberry32), so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Mutation = (bytes: Buffer, r: () => number) => Buffer;
const pick = <T>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)];
const lines = (b: Buffer) => b.toString("latin1").split("\n");
const join_ = (ls: string[]) => Buffer.from(ls.join("\n"), "latin1");

const MUTATIONS: Record<string, Mutation> = {
  truncate: (b, r) => b.subarray(0, Math.floor(r() * b.length)),
  randomBytes: (b, r) => {
    const c = Buffer.from(b);
    for (let k = 0; k < 1 + Math.floor(r() * 4); k++)
      c[Math.floor(r() * c.length)] = Math.floor(r() * 256);
    return c;
  },
  insertChars: (b, r) => {
    const at = Math.floor(r() * b.length);
    const chunk = pick(r, [
      "`",
      "/*",
      "*/",
      '"',
      "'",
      "\\",
      "{",
      "}",
      "\n// %%\n",
      "${",
      "\r\n",
      "\u00e9",
    ]);
    return Buffer.concat([b.subarray(0, at), Buffer.from(chunk), b.subarray(at)]);
  },
  deleteLine: (b, r) => {
    const ls = lines(b);
    ls.splice(Math.floor(r() * ls.length), 1);
    return join_(ls);
  },
  duplicateLine: (b, r) => {
    const ls = lines(b);
    const i = Math.floor(r() * ls.length);
    ls.splice(i, 0, ls[i]);
    return join_(ls);
  },
  swapMarkers: (b, r) => {
    const ls = lines(b);
    const idx = ls
      .map((l, i) => (/%%|###|\/\/\||---|"cell_type"|"source"/.test(l) ? i : -1))
      .filter((i) => i >= 0);
    if (idx.length < 2) return b;
    const i = pick(r, idx);
    const j = pick(r, idx);
    [ls[i], ls[j]] = [ls[j], ls[i]];
    return join_(ls);
  },
};

/** Structural damage to a notebook's JSON (keeps it parseable, breaks the shape). */
function damageJson(text: string, r: () => number): string {
  const doc = JSON.parse(text) as unknown;
  const containers: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach((x, i) => (containers.push([v, i]), walk(x)));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        containers.push([v as Record<string, unknown>, k]);
        walk(x);
      }
    }
  };
  walk(doc);
  const [parent, key] = pick(r, containers);
  const value = pick(r, [null, 7, -1.5, "", "heading", "x\n// %% y", [], {}, true, ["a", 1]]);
  if (!Array.isArray(parent) && r() < 0.3) delete parent[key as string];
  else (parent as Record<string | number, unknown>)[key] = value;
  return JSON.stringify(doc, null, 1);
}

const dir = mkdtempSync(join(tmpdir(), "tito-fuzz-"));

function attempt(name: string, input: Buffer, ext: "ts" | "ipynb", label: string): "ok" | "error" {
  const file = join(dir, `in.${ext}`);
  const out = join(dir, ext === "ts" ? "out.ipynb" : "out.ts");
  rmSync(out, { force: true });
  writeFileSync(file, input);
  let result: "ok" | "error";
  try {
    convertFile(file, { out });
    result = "ok";
  } catch (e) {
    if (!(e instanceof SourceError)) {
      throw new Error(`${label} (${name}): unexpected ${String((e as Error).stack ?? e)}`);
    }
    assert.ok(e.message.startsWith(file), e.message);
    assert.not.ok(existsSync(out), `${label}: output written despite an error`);
    result = "error";
  }
  assert.equal(
    readdirSync(dir).filter((f) => f.endsWith(".tmp")),
    [],
    `${label}: temporary file left`,
  );
  if (result === "ok") {
    const produced = readFileSync(out, "utf8");
    if (ext === "ts") {
      // The notebook parses, and .ts -> .ipynb -> .ts of the canonical text is a fixpoint.
      const nb = parseIpynb(produced, "out.ipynb");
      const canonical = writePercent(nb, "out.ts");
      const again = writePercent(
        parseIpynb(writeIpynb(parsePercent(canonical, "c.ts").notebook), "c.ipynb"),
      );
      assert.is(again, canonical, `${label}: canonical text is not a fixpoint`);
      const v = validateModule(parsePercent(canonical, "c.ts"), "c.ts");
      assert.ok(Array.isArray(v));
    } else {
      // Reading the .ts may add defaults (the tslab kernelspec); after that it is a fixpoint.
      const once = writePercent(parsePercent(produced, "out.ts").notebook, "out.ts");
      const twice = writePercent(parsePercent(once, "out.ts").notebook, "out.ts");
      assert.is(twice, once, `${label}: written .ts is not stable`);
    }
  }
  return result;
}

const sources = fixtureNames("roundtrip", ".ts");
const notebooks = fixtureNames("ipynb", ".ipynb");

test("mutated .ts sources: clean result or SourceError", () => {
  const r = rng(20240501);
  const tally = { ok: 0, error: 0 };
  for (let k = 0; k < 600; k++) {
    const name = pick(r, sources);
    const mutation = pick(r, Object.keys(MUTATIONS));
    const input = MUTATIONS[mutation](Buffer.from(readFixture(name), "utf8"), r);
    tally[attempt(name, input, "ts", `#${k} ${mutation}`)]++;
  }
  // Both outcomes occur, so the test exercises error paths and success paths.
  assert.ok(tally.ok > 50 && tally.error > 5, JSON.stringify(tally));
});

test("mutated .ipynb notebooks: clean result or SourceError", () => {
  const r = rng(7);
  const tally = { ok: 0, error: 0 };
  for (let k = 0; k < 600; k++) {
    const name = pick(r, notebooks);
    const text = readFixture(name);
    const structural = r() < 0.5;
    const mutation = structural ? "damageJson" : pick(r, Object.keys(MUTATIONS));
    const input = structural
      ? Buffer.from(damageJson(text, r))
      : MUTATIONS[mutation](Buffer.from(text, "utf8"), r);
    tally[attempt(name, input, "ipynb", `#${k} ${mutation}`)]++;
  }
  assert.ok(tally.ok > 50 && tally.error > 50, JSON.stringify(tally));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
