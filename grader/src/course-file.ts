// The course file (`course.json` at the course root, or `tito grade --course FILE`): per-module
// due dates, the late policy, per-student extensions and the Gradescope visibility of hidden
// tests. It is instructor input that decides grades, so it is validated in full (JSON schema,
// course-file.schema.json, through ajv) before anything is graded, and every problem names the
// file and the JSON path it is at.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv, { type ErrorObject } from "ajv";
import { SourceError } from "@tinytorch-ts/core";
import type { GradescopeVisibility } from "./results-json";
import { lateness, NO_LATE_POLICY, ON_TIME, type LatePolicy, type Lateness } from "./late-policy";
import schema from "./course-file.schema.json";

export const COURSE_FILE_NAME = "course.json";
export const DEFAULT_HIDDEN_VISIBILITY: GradescopeVisibility = "after_due_date";

/** The course file as written (after validation). */
export interface CourseFileJson {
  modules?: Record<string, { due: string }>;
  latePolicy?: LatePolicy;
  extensions?: Record<string, Record<string, string>>;
  gradescope?: { hiddenTests?: GradescopeVisibility };
}

/** The course file, read: instants in epoch milliseconds. */
export interface CourseSettings {
  /** Where it came from (for messages); undefined for the built-in "no course file". */
  file?: string;
  /** Due dates by module name, epoch ms. */
  due: Map<string, number>;
  /** Extensions by student, then module, epoch ms. */
  extensions: Map<string, Map<string, number>>;
  latePolicy: LatePolicy;
  hiddenTests: GradescopeVisibility;
  /** Things that are allowed but probably not meant (an extension earlier than the due date). */
  warnings: string[];
}

export const NO_COURSE: CourseSettings = {
  due: new Map(),
  extensions: new Map(),
  latePolicy: NO_LATE_POLICY,
  hiddenTests: DEFAULT_HIDDEN_VISIBILITY,
  warnings: [],
};

/** All of a course file's problems at once, each "file: $.path: problem". */
export class CourseFileError extends SourceError {
  constructor(
    file: string,
    readonly problems: string[],
  ) {
    super(file, undefined, problems.join(`\n${file}: `));
    this.name = "CourseFileError";
  }
}

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * An ISO 8601 date-time with its UTC offset, as epoch ms; undefined for anything else, including
 * dates Date.parse would roll over (February 30) and times without an offset (whose instant
 * would depend on the grading machine's time zone).
 */
export function parseInstant(text: string): number | undefined {
  const m = ISO_INSTANT.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number);
  const second = Number(m[6] ?? 0);
  const ms = Math.floor(Number(`0.${m[7] ?? "0"}`) * 1000);
  const local = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const d = new Date(local);
  const exact =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60;
  if (!exact) return undefined;
  if (m[8] === "Z") return local;
  const [offH, offM] = [Number(m[10]), Number(m[11])];
  if (offH > 14 || offM > 59) return undefined;
  const sign = m[9] === "-" ? -1 : 1;
  return local - sign * (offH * 60 + offM) * 60_000;
}

/** A JSON pointer as a readable path: /modules/01_tensor/due -> $.modules["01_tensor"].due. */
export function jsonPath(pointer: string): string {
  const keys = pointer === "" ? [] : pointer.slice(1).split("/");
  return keys
    .map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((p, k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `${p}.${k}` : `${p}[${JSON.stringify(k)}]`), "$"); // prettier-ignore
}

function describe(e: ErrorObject): string {
  const at = jsonPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return `${jsonPath(`${e.instancePath}/${String(p.additionalProperty)}`)}: unknown property (a typo?)`; // prettier-ignore
    case "required":
      return `${at}: missing "${String(p.missingProperty)}"`;
    case "propertyNames": {
      const key = jsonPath(`${e.instancePath}/${String(p.propertyName)}`);
      return e.instancePath === "/extensions"
        ? `${key}: a student id must not be empty`
        : `${key}: not a module name (NN_name, e.g. 01_tensor)`;
    }
    case "pattern":
      return e.instancePath.endsWith("/due") || e.instancePath.startsWith("/extensions/")
        ? `${at}: not an ISO 8601 date and time with a UTC offset (e.g. 2026-02-06T23:59:00-05:00)`
        : `${at}: must match ${String(p.pattern)}`;
    case "enum":
      return `${at}: must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`; // prettier-ignore
    case "discriminator":
      return `${at}.kind: must be "none", "per-day" or "cutoff"`;
    default:
      return `${at}: ${e.message ?? "invalid"}`;
  }
}

let validator: ReturnType<Ajv["compile"]> | undefined;

function validate(data: unknown): string[] {
  validator ??= new Ajv({ allErrors: true, discriminator: true }).compile(schema);
  if (validator(data)) return [];
  const errors = validator.errors ?? [];
  const missingKind = errors.some((e) => e.keyword === "required" && e.params.missingProperty === "kind"); // prettier-ignore
  const shown = errors.filter(
    (e) =>
      // A failed propertyNames check also reports its inner error; one line is enough.
      e.propertyName === undefined &&
      // A policy without "kind" fails the discriminator too.
      !(e.keyword === "discriminator" && missingKind),
  );
  return [...new Set(shown.map(describe))];
}

/** Parses and validates a course file's text; throws CourseFileError with every problem. */
export function parseCourseFile(text: string, file: string): CourseSettings {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new CourseFileError(file, [`not valid JSON (${(e as Error).message})`]);
  }
  const problems = validate(data);
  if (problems.length > 0) throw new CourseFileError(file, problems);
  const json = data as CourseFileJson;
  const settings: CourseSettings = {
    file,
    due: new Map(),
    extensions: new Map(),
    latePolicy: json.latePolicy ?? NO_LATE_POLICY,
    hiddenTests: json.gradescope?.hiddenTests ?? DEFAULT_HIDDEN_VISIBILITY,
    warnings: [],
  };
  const instant = (text: string, pointer: string): number => {
    const ms = parseInstant(text);
    if (ms === undefined) problems.push(`${jsonPath(pointer)}: "${text}" is not a real date and time`); // prettier-ignore
    return ms ?? NaN;
  };
  for (const [module, { due }] of Object.entries(json.modules ?? {})) {
    settings.due.set(module, instant(due, `/modules/${module}/due`));
  }
  for (const [student, modules] of Object.entries(json.extensions ?? {})) {
    const mine = new Map<string, number>();
    for (const [module, due] of Object.entries(modules)) {
      const at = `/extensions/${student.replace(/~/g, "~0").replace(/\//g, "~1")}/${module}`;
      const ms = instant(due, at);
      const moduleDue = settings.due.get(module);
      if (moduleDue === undefined) {
        problems.push(`${jsonPath(at)}: module ${module} has no due date in $.modules to extend`);
      } else if (ms < moduleDue) {
        settings.warnings.push(`${file}: ${jsonPath(at)}: the extension is earlier than the module's due date; the module's due date applies`); // prettier-ignore
      }
      mine.set(module, ms);
    }
    settings.extensions.set(student, mine);
  }
  if (problems.length > 0) throw new CourseFileError(file, problems);
  return settings;
}

export function readCourseFile(path: string): CourseSettings {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CourseFileError(path, [`cannot read the course file (${(e as Error).message})`]);
  }
  return parseCourseFile(text, path);
}

/** The course file to use: the one given, else `course.json` at the course root, else none. */
export function loadCourseSettings(given: string | undefined, courseRoot?: string): CourseSettings {
  if (given !== undefined) return readCourseFile(given);
  const found = courseRoot === undefined ? undefined : join(courseRoot, COURSE_FILE_NAME);
  return found !== undefined && existsSync(found) ? readCourseFile(found) : NO_COURSE;
}

/**
 * A student's due date for a module, epoch ms, or undefined when the module has none. An
 * extension moves it later, never earlier: an earlier date is almost surely a typo, and a typo
 * must not cost a student who was promised more time (the loader warns about it).
 */
export function dueDateFor(
  course: CourseSettings,
  module: string,
  student: string,
): number | undefined {
  const due = course.due.get(module);
  if (due === undefined) return undefined;
  const extension = course.extensions.get(student)?.get(module);
  return extension === undefined ? due : Math.max(due, extension);
}

/** Everything an attempt records about time, for one submission. */
export interface AttemptTiming extends Lateness {
  submittedMs?: number;
  dueMs?: number;
}

/** Lateness of a submission; on time when its time or the due date is unknown. */
export function timingFor(
  course: CourseSettings,
  module: string,
  student: string,
  submittedMs: number | undefined,
): AttemptTiming {
  const dueMs = dueDateFor(course, module, student);
  if (submittedMs === undefined || dueMs === undefined) return { ...ON_TIME, submittedMs, dueMs };
  return { ...lateness(submittedMs, dueMs, course.latePolicy), submittedMs, dueMs };
}
