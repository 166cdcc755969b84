// Student-controlled strings on their way to the file system and to logs. A student id comes from
// a submission's file or folder name, and reasons can quote a notebook's metadata; both are
// chosen by the student.
// - safeName: a file name for an id. Injective: ids that need no cleaning are used as they are,
//   and any id that cleaning changes gets a short hash of the original appended after "~", a
//   character cleaning never leaves, so `alice~smith` and `alice_smith` get different folders
//   and neither can take the other's results.
// - stripControl: text without terminal control sequences or other control characters, so a
//   name or a reason cannot recolour a log, move its cursor, or fake extra lines.
import { createHash } from "node:crypto";

const UNSAFE_RUN = /[^A-Za-z0-9._@-]+/g;
const MAX_NAME = 120;
const HASH_CHARS = 10;

/** A file name for a student id: the id itself when it is already safe, else cleaned + "~" + hash. */
export function safeName(id: string): string {
  const cleaned = id.replace(UNSAFE_RUN, "_").replace(/^\.+/, "_");
  if (cleaned === id && id !== "" && id.length <= MAX_NAME) return id;
  const hash = createHash("sha256").update(id, "utf8").digest("hex").slice(0, HASH_CHARS);
  return `${cleaned.slice(0, MAX_NAME - HASH_CHARS - 1)}~${hash}`;
}

/** ANSI escape sequences: CSI (ESC [ … final byte), OSC (ESC ] … BEL or ST), and two-byte ESC X. */
// eslint-disable-next-line no-control-regex -- these patterns exist to match control characters
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]/g;
/** C0 except tab and newline, DEL, C1, and the Unicode line/paragraph separators and bidi controls. */
// eslint-disable-next-line no-control-regex -- as above
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export interface StripOptions {
  /** Keep "\n" and "\t" (default true); false turns them into spaces, for one-line logs. */
  keepNewlines?: boolean;
}

/** `text` without escape sequences and control characters (see CONTROL). */
export function stripControl(text: string, opts: StripOptions = {}): string {
  const stripped = text.replace(ANSI, "").replace(CONTROL, "");
  return opts.keepNewlines === false ? stripped.replace(/[\n\t]/g, " ") : stripped;
}

/** One log line: no control characters and no line breaks. */
export function logLine(text: string): string {
  return stripControl(text, { keepNewlines: false });
}
