// Finding the submissions in the folder `tito grade` is given, and reading them. The folder's
// contents are the students' (archives they uploaded, a drop folder they write to), so nothing
// in it is trusted. A link named mallory.ipynb that points at alice.ipynb would earn Alice's
// score; one that points at /etc/shadow would feed a root-only file to the parser; a named pipe
// blocks the reader forever; a dangling link makes stat throw. So:
// - entries are inspected with lstat and never followed: only regular files and real folders
//   count. Everything else (links, pipes, sockets, devices) becomes a rejected submission with
//   a reason, so the instructor sees it, and is never opened;
// - each entry fails alone: an error while inspecting one becomes that entry's reason;
// - a notebook over the size cap is rejected by its lstat size, before it is opened;
// - the read opens with O_NOFOLLOW | O_NONBLOCK and checks the opened file again (fstat), so an
//   entry swapped for a link or a pipe after it was listed is refused, not followed or waited on.
// No reason ever quotes a byte of a file: only names, kinds, sizes and error codes.
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
  type BigIntStats,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { SourceError } from "@tinytorch-ts/core";

/** The default cap on a notebook's size (`tito grade --max-size`). */
export const DEFAULT_MAX_SUBMISSION_BYTES = 20 * 1024 * 1024;

export interface Submission {
  student: string;
  /** The notebook, or undefined when there is none to read (see `problem`). */
  file?: string;
  /** Why no notebook was picked, or why the one found is refused. */
  problem?: string;
  /** The size cap in bytes, applied again when the file is read. */
  maxBytes?: number;
  /** Device and inode of the notebook when it was listed: the read refuses any other file. */
  identity?: string;
  /** The student's folder, when the submission is one (a file beside the notebook lives here). */
  folder?: string;
}

export interface FindSubmissionsOptions {
  /** Notebooks larger than this many bytes are rejected unread (default 20 MiB). */
  maxBytes?: number;
}

export type ReadSubmission = { ok: true; text: string } | { ok: false; reason: string };
export type ReadBytes = { ok: true; bytes: Buffer } | { ok: false; reason: string };

const READ_CHUNK = 1024 * 1024;

function errorCode(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "unknown error";
}

function identityOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

function describeKind(st: BigIntStats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a named pipe (FIFO)";
  if (st.isSocket()) return "a socket";
  if (st.isBlockDevice()) return "a block device";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isDirectory()) return "a folder";
  if (st.isFile()) return "a regular file";
  return "a special file";
}

function formatBytes(n: number | bigint): string {
  const v = Number(n);
  if (v >= 1024 * 1024) return `${+(v / (1024 * 1024)).toFixed(1)} MiB`;
  if (v >= 1024) return `${+(v / 1024).toFixed(1)} KiB`;
  return `${v} bytes`;
}

/** Why a file `what` describes may not be read as a notebook, or undefined when it may. */
function notebookProblem(what: string, st: BigIntStats, maxBytes: number): string | undefined {
  if (st.isSymbolicLink()) return `${what} is a symbolic link, not a regular file: not followed`;
  if (!st.isFile()) return `${what} is ${describeKind(st)}, not a regular file: not opened`;
  // A hard link is a regular file too, but shares its content with another name: mallory.ipynb
  // hard-linked to alice.ipynb (an archive can create one on extraction) is the symlink attack.
  if (st.nlink > 1n) {
    return `${what} is a hard link shared with another file (${st.nlink} links): not read`;
  }
  if (st.size > BigInt(maxBytes)) {
    let [size, limit] = [formatBytes(st.size), formatBytes(maxBytes)];
    // Rounded, a file one byte over the limit would be "20 MiB, over the limit of 20 MiB".
    if (size === limit) [size, limit] = [`${st.size} bytes`, `${maxBytes} bytes`];
    return `${what} is ${size}, over the limit of ${limit}: not read`;
  }
  return undefined;
}

function studentOf(entry: string): string {
  return entry.endsWith(".ipynb") ? entry.slice(0, -".ipynb".length) : entry;
}

/** A listed notebook: readable if its lstat passes, else rejected with no file to open. */
function listed(
  student: string,
  file: string,
  st: BigIntStats,
  what: string,
  maxBytes: number,
): Submission {
  const problem = notebookProblem(what, st, maxBytes);
  if (problem !== undefined) return { student, problem };
  return { student, file, maxBytes, identity: identityOf(st) };
}

/** The notebook named after the module wins (`01_tensor.ipynb`), else the only one. */
export function pickNotebook(names: string[], module: string): string | undefined {
  const number = module.split("_")[0];
  return (
    names.find((b) => b === `${module}.ipynb`) ??
    (names.length === 1 ? names[0] : names.find((b) => b.startsWith(`${number}_`)))
  );
}

function studentFolder(student: string, dir: string, module: string, maxBytes: number): Submission {
  let names: string[];
  try {
    names = readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb") && !f.startsWith("."))
      .sort();
  } catch (e) {
    return { student, problem: `cannot list the submission folder (${errorCode(e)})` };
  }
  // The pick is by name only; the picked entry then passes the same lstat rules as any other.
  // Notebooks not picked are never opened, whatever they are.
  const pick = pickNotebook(names, module);
  if (pick === undefined) {
    const problem =
      names.length === 0
        ? "no .ipynb notebook in the submission folder"
        : `several notebooks (${names.join(", ")}) and none is named ${module}.ipynb`;
    return { student, problem };
  }
  const file = join(dir, pick);
  return { ...listed(student, file, lstatSync(file, { bigint: true }), `the notebook ${pick}`, maxBytes), folder: dir }; // prettier-ignore
}

/** A file the submission folder must hold beside the notebook (the capstone's model file). */
export interface CompanionFile {
  file?: string;
  problem?: string;
  maxBytes: number;
  identity?: string;
}

/**
 * `name` in a student's folder, inspected by the notebook's rules (lstat, nothing followed, one
 * link, at most `maxBytes`): the file to read with `readSubmissionBytes`, or why there is none.
 */
export function findCompanionFile(folder: string, name: string, maxBytes: number): CompanionFile {
  const file = join(folder, name);
  let st: BigIntStats;
  try {
    st = lstatSync(file, { bigint: true });
  } catch (e) {
    const code = errorCode(e);
    return { maxBytes, problem: code === "ENOENT" ? `no ${name} in the submission folder` : `cannot inspect ${name} (${code})` }; // prettier-ignore
  }
  const problem = notebookProblem(name, st, maxBytes);
  return problem === undefined
    ? { file, maxBytes, identity: identityOf(st) }
    : { maxBytes, problem };
}

function folderEntry(
  dir: string,
  entry: string,
  module: string,
  maxBytes: number,
): Submission | undefined {
  const full = join(dir, entry);
  const st = lstatSync(full, { bigint: true });
  if (st.isDirectory()) return studentFolder(entry, full, module, maxBytes);
  if (st.isFile()) {
    return entry.endsWith(".ipynb")
      ? listed(studentOf(entry), full, st, "the submission", maxBytes)
      : undefined;
  }
  // A link or a special file. Without following it, nobody can tell whether it stands for a
  // notebook or a folder, so it is reported under its own name whatever that is.
  const action = st.isSymbolicLink() ? "not followed" : "not opened";
  return {
    student: studentOf(entry),
    problem: `the submission is ${describeKind(st)}, not a regular file or folder: ${action}`,
  };
}

/**
 * `<dir>/<student>.ipynb` or `<dir>/<student>/<notebook>.ipynb`, or a single notebook file. In a
 * student folder the notebook named after the module wins (`01_tensor.ipynb`), else the only one.
 * Links, pipes, sockets, devices, hard links and oversized notebooks come back as submissions
 * with a `problem` and no `file`. A `path` that is itself a link is refused (SourceError).
 */
export function findSubmissions(
  path: string,
  module: string,
  options: FindSubmissionsOptions = {},
): Submission[] {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_SUBMISSION_BYTES;
  let top: BigIntStats;
  try {
    // resolve() drops a trailing slash, with which lstat would follow a link to a folder.
    top = lstatSync(resolve(path), { bigint: true });
  } catch (e) {
    if (errorCode(e) === "ENOENT") return [];
    throw e;
  }
  if (top.isSymbolicLink()) {
    throw new SourceError(
      path,
      undefined,
      "is a symbolic link; links are not followed, give the folder or notebook itself",
    );
  }
  if (top.isFile()) {
    return [listed(studentOf(basename(path)), path, top, "the submission", maxBytes)];
  }
  if (!top.isDirectory()) {
    throw new SourceError(path, undefined, `is ${describeKind(top)}, not a folder or a notebook`);
  }
  const out: Submission[] = [];
  for (const entry of readdirSync(path).sort()) {
    if (entry.startsWith(".")) continue;
    try {
      const found = folderEntry(path, entry, module, maxBytes);
      if (found) out.push(found);
    } catch (e) {
      // The entry vanished or cannot be inspected: it alone is reported, the others go on.
      out.push({
        student: studentOf(entry),
        problem: `cannot inspect the submission (${errorCode(e)})`,
      });
    }
  }
  return out;
}

function readOpened(
  fd: number,
  capBytes: number,
  identity: string | undefined,
  what: string,
): ReadBytes {
  const st = fstatSync(fd, { bigint: true });
  const problem = notebookProblem(what, st, capBytes);
  if (problem !== undefined) return { ok: false, reason: problem };
  if (identity !== undefined && identityOf(st) !== identity) {
    return {
      ok: false,
      reason: `${what} was replaced by another file after it was listed: not read`,
    };
  }
  // The file may still grow after fstat: read at most one byte over the cap, to tell.
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(Math.min(READ_CHUNK, capBytes + 1 - total));
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    total += n;
    if (total > capBytes) {
      return {
        ok: false,
        reason: `${what} grew over the limit of ${formatBytes(capBytes)} while it was read: not read`,
      };
    }
  }
  return { ok: true, bytes: Buffer.concat(chunks, total) };
}

/**
 * Reads a notebook that `findSubmissions` listed, refusing anything but the regular file of at
 * most `capBytes` it saw: O_NOFOLLOW fails on a link, O_NONBLOCK keeps a pipe from blocking the
 * open, and the opened file is checked again (kind, size, links and, given `identity`, inode).
 * Never throws.
 */
export function readSubmissionFile(
  path: string,
  capBytes: number = DEFAULT_MAX_SUBMISSION_BYTES,
  identity?: string,
): ReadSubmission {
  const r = readSubmissionBytes(path, capBytes, identity);
  return r.ok ? { ok: true, text: r.bytes.toString("utf8") } : r;
}

/** `readSubmissionFile`'s rules, for any file of a submission (`what` names it in reasons). */
export function readSubmissionBytes(
  path: string,
  capBytes: number = DEFAULT_MAX_SUBMISSION_BYTES,
  identity?: string,
  what = "the submission",
): ReadBytes {
  const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  } catch (e) {
    const code = errorCode(e);
    if (code === "ELOOP") {
      return {
        ok: false,
        reason: `${what} is a symbolic link, not a regular file: not followed`,
      };
    }
    return { ok: false, reason: `cannot open ${what} (${code})` };
  }
  try {
    return readOpened(fd, capBytes, identity, what);
  } catch (e) {
    return { ok: false, reason: `cannot read ${what} (${errorCode(e)})` };
  } finally {
    try {
      closeSync(fd);
    } catch {
      // Nothing was left to release.
    }
  }
}
