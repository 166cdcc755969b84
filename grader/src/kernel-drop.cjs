// Loaded first in a grading kernel (NODE_OPTIONS=--require), before tslab or any cell: the
// kernel was started as root inside its namespaces and becomes the sandbox user HERE, in its
// own process. Linux marks a process that changes its own uid non-dumpable, and the /proc
// files of a non-dumpable process (mem, environ, pagemap, the fd links, ...) belong to root:
// student code running later as the sandbox user cannot open its own memory and read the
// compiled hidden tests in it. (Dropping before exec, as setpriv does, would not do: exec
// makes the process dumpable again.) Any failure here stops the kernel: it never runs as root.
"use strict";
const { setInterval } = require("timers");

(function dropRoot() {
  const spec = process.env.TITO_KERNEL_USER;
  delete process.env.TITO_KERNEL_USER;
  delete process.env.NODE_OPTIONS;
  if (spec === undefined) return;
  const fail = (why) => {
    process.stderr.write(`tito kernel: cannot drop to the sandbox user: ${why}\n`);
    process.exit(78);
  };
  const m = /^(\d+):(\d+)$/.exec(spec);
  if (!m) return fail(`bad TITO_KERNEL_USER ${JSON.stringify(spec)}`);
  const uid = Number(m[1]);
  const gid = Number(m[2]);
  try {
    process.setgroups([]);
    process.setgid(gid);
    process.setuid(uid);
  } catch (e) {
    return fail(e && e.message);
  }
  const groups = process.getgroups();
  if (
    process.getuid() !== uid ||
    process.geteuid() !== uid ||
    process.getgid() !== gid ||
    process.getegid() !== gid ||
    groups.some((g) => g !== gid)
  ) {
    return fail("the ids did not change");
  }
  let regained = false;
  try {
    process.setuid(0);
    regained = true;
  } catch {
    // Expected: root is gone for good.
  }
  if (regained) return fail("root could be regained");

  // The uid change also cleared the parent-death signal. In a PID namespace the namespace's
  // init takes the kernel down with the grader; without one, the kernel watches its parent and
  // ends itself when it is orphaned (RLIMIT_CPU bounds one whose event loop is kept busy).
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, "SIGKILL");
  }, 1000).unref();
})();
