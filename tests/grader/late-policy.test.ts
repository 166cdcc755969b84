// The late-work arithmetic (grader/src/late-policy.ts) and how a student's due date is chosen
// (course-file.ts): on time, one millisecond and one second late, day boundaries, the cut-off,
// extensions (later and earlier than the due date), and instants written in other time zones.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  DAY_MS,
  describeLateness,
  formatDuration,
  lateness,
  penalised,
  type LatePolicy,
} from "../../grader/src/late-policy";
import { dueDateFor, parseCourseFile, parseInstant, timingFor } from "../../grader/src/course-file"; // prettier-ignore

const DUE = Date.parse("2026-02-06T23:59:00-05:00");
const PER_DAY: LatePolicy = { kind: "per-day", perDay: 0.1 };
const WITH_CUTOFF: LatePolicy = { kind: "per-day", perDay: 0.1, cutoffDays: 3 };
const H = 3600 * 1000;

test("exactly on time and before are on time, under every policy", () => {
  for (const policy of [
    PER_DAY,
    WITH_CUTOFF,
    { kind: "cutoff" } as const,
    { kind: "none" } as const,
  ]) {
    // prettier-ignore
    for (const at of [DUE, DUE - 1, DUE - 10 * DAY_MS]) {
      const l = lateness(at, DUE, policy);
      assert.is(l.penalty, 0);
      assert.is(l.lateSeconds, 0);
      assert.is(l.daysLate, 0);
      assert.is(describeLateness(l), undefined);
    }
  }
});

test("one millisecond or one second late is one started day", () => {
  assert.equal(lateness(DUE + 1, DUE, PER_DAY), { lateSeconds: 0.001, daysLate: 1, penalty: 0.1, pastCutoff: false }); // prettier-ignore
  const second = lateness(DUE + 1000, DUE, PER_DAY);
  assert.is(second.daysLate, 1);
  assert.is(second.penalty, 0.1);
  assert.is(describeLateness(second), "submitted 1 s late: −10%");
  assert.is(describeLateness(lateness(DUE + 1, DUE, PER_DAY)), "submitted less than 1 s late: −10%"); // prettier-ignore
});

test("day boundaries: exactly 24 h late is one day, a millisecond more is two", () => {
  assert.is(lateness(DUE + DAY_MS, DUE, PER_DAY).daysLate, 1);
  assert.is(lateness(DUE + DAY_MS, DUE, PER_DAY).penalty, 0.1);
  assert.is(lateness(DUE + DAY_MS + 1, DUE, PER_DAY).daysLate, 2);
  assert.is(lateness(DUE + DAY_MS + 1, DUE, PER_DAY).penalty, 0.2);
  assert.is(lateness(DUE + 3 * DAY_MS, DUE, PER_DAY).penalty, 0.3, "3 × 0.1 is 0.3, not 0.30000000000000004"); // prettier-ignore
  const l = lateness(DUE + DAY_MS + 3 * H, DUE, PER_DAY);
  assert.is(describeLateness(l), "submitted 1 day 3 h late: −20%");
});

test("per-day penalties stop at everything", () => {
  assert.is(lateness(DUE + 30 * DAY_MS, DUE, PER_DAY).penalty, 1);
  assert.is(lateness(DUE + 30 * DAY_MS, DUE, { kind: "per-day", perDay: 0.25 }).penalty, 1);
  assert.is(lateness(DUE + 4 * DAY_MS, DUE, { kind: "per-day", perDay: 0.25 }).penalty, 1);
  assert.is(lateness(DUE + 3 * DAY_MS, DUE, { kind: "per-day", perDay: 0.25 }).penalty, 0.75);
});

test("the cut-off: exactly at it counts by days, past it loses everything", () => {
  const at = lateness(DUE + 3 * DAY_MS, DUE, WITH_CUTOFF);
  assert.is(at.penalty, 0.3);
  assert.not.ok(at.pastCutoff);
  const past = lateness(DUE + 3 * DAY_MS + 1000, DUE, WITH_CUTOFF);
  assert.is(past.penalty, 1);
  assert.ok(past.pastCutoff);
  assert.is(describeLateness(past), "submitted 3 days late, after the cut-off: −100%");
  const fractional = { kind: "per-day", perDay: 0.1, cutoffDays: 0.5 } as const;
  assert.is(lateness(DUE + 11 * H, DUE, fractional).penalty, 0.1);
  assert.is(lateness(DUE + 13 * H, DUE, fractional).penalty, 1);
});

test("cutoff: late at all is 0; none: lateness recorded, nothing taken", () => {
  assert.is(lateness(DUE + 1000, DUE, { kind: "cutoff" }).penalty, 1);
  const none = lateness(DUE + 2 * H + 5 * 60_000, DUE, { kind: "none" });
  assert.is(none.penalty, 0);
  assert.is(none.lateSeconds, 2 * 3600 + 300);
  assert.is(describeLateness(none), "submitted 2 h 5 min late (no penalty)");
});

test("durations read as the two largest units, rounded down", () => {
  assert.is(formatDuration(59), "59 s");
  assert.is(formatDuration(61), "1 min 1 s");
  assert.is(formatDuration(86400), "1 day");
  assert.is(formatDuration(2 * 86400 + 59 * 60), "2 days");
  assert.is(formatDuration(2 * 86400 + 3600 + 59), "2 days 1 h");
  assert.is(penalised(6, 0.2), 4.8);
  assert.is(penalised(7, 0.3), 4.9);
});

test("instants carry their offset: the same moment in three time zones is one due date", () => {
  const a = parseInstant("2026-02-06T23:59:00-05:00");
  assert.is(a, parseInstant("2026-02-07T04:59:00Z"));
  assert.is(a, parseInstant("2026-02-07T05:59:00+01:00"));
  assert.is(a, parseInstant("2026-02-07T10:29:00.000+05:30"));
  // Daylight-saving changes move nothing: a day is 24 hours of elapsed time.
  const beforeDst = parseInstant("2026-03-07T23:59:00-05:00") ?? NaN;
  const after = parseInstant("2026-03-08T23:59:00-04:00") ?? NaN;
  assert.is(lateness(after, beforeDst, PER_DAY).daysLate, 1, "23 h of elapsed time is one day");
  for (const bad of [
    "2026-02-06T23:59:00",
    "2026-02-30T10:00:00Z",
    "2026-02-06 23:59Z",
    "2026-02-06T24:00Z",
    "2026-02-06T10:00+15:00",
    "yesterday",
  ]) {
    // prettier-ignore
    assert.is(parseInstant(bad), undefined, bad);
  }
});

const course = parseCourseFile(
  JSON.stringify({
    modules: { "01_tensor": { due: "2026-02-06T23:59:00-05:00" } },
    latePolicy: { kind: "per-day", perDay: 0.1, cutoffDays: 5 },
    extensions: {
      ada: { "01_tensor": "2026-02-09T23:59:00-05:00" },
      bea: { "01_tensor": "2026-02-05T23:59:00-05:00" },
    },
  }),
  "course.json",
);

test("an extension moves a student's due date later; one earlier is ignored with a warning", () => {
  assert.is(dueDateFor(course, "01_tensor", "ada"), Date.parse("2026-02-09T23:59:00-05:00"));
  assert.is(dueDateFor(course, "01_tensor", "bea"), DUE, "never earlier than the module's");
  assert.is(dueDateFor(course, "01_tensor", "cyd"), DUE);
  assert.is(dueDateFor(course, "02_activations", "ada"), undefined);
  assert.is(course.warnings.length, 1);
  assert.match(course.warnings[0], /course\.json: \$\.extensions\.bea\["01_tensor"\]: the extension is earlier/); // prettier-ignore
});

test("timing: a late submission, an extended one, one without a due date or a time", () => {
  const twoDays = DUE + 2 * DAY_MS - 1000;
  assert.is(timingFor(course, "01_tensor", "cyd", twoDays).penalty, 0.2);
  assert.is(timingFor(course, "01_tensor", "ada", twoDays).penalty, 0, "extended: on time");
  assert.is(timingFor(course, "01_tensor", "bea", twoDays).penalty, 0.2);
  const noDue = timingFor(course, "02_activations", "cyd", twoDays);
  assert.equal([noDue.penalty, noDue.dueMs, noDue.submittedMs], [0, undefined, twoDays]);
  const noTime = timingFor(course, "01_tensor", "cyd", undefined);
  assert.equal([noTime.penalty, noTime.dueMs], [0, DUE]);
});

test.run();
