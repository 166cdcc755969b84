// What a kernel's processes are doing, from /proc: said when a kernel does not answer, so that a
// start that hangs says whether the kernel was still working (CPU time growing), asleep waiting
// for something (and where in the kernel), or never got as far as Node. Linux only; elsewhere,
// and for anything unreadable, it says less rather than failing.
import { readFileSync, readdirSync } from "node:fs";

export interface ProcessSnapshot {
  pid: number;
  ppid: number;
  /** The executable's name as the kernel keeps it (at most 15 characters). */
  command: string;
  /** R running, S sleeping, D uninterruptible, Z zombie, T stopped, … */
  state: string;
  /** User plus system CPU time, in clock ticks (usually 1/100 s). */
  cpuTicks: number;
  threads: number;
}

/**
 * Parses one /proc/<pid>/stat line. The command is in parentheses and may itself contain spaces
 * and parentheses, so the fields after it are found from the last ")".
 */
export function parseStat(line: string): ProcessSnapshot | undefined {
  const open = line.indexOf("(");
  const close = line.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(line.slice(0, open).trim());
  const rest = line.slice(close + 2).split(" ");
  // rest[0] is field 3 (state); utime, stime and num_threads are fields 14, 15 and 20.
  const [state, ppid, utime, stime, threads] = [rest[0], rest[1], rest[11], rest[12], rest[17]];
  const numbers = [pid, Number(ppid), Number(utime), Number(stime), Number(threads)];
  if (state === undefined || numbers.some((n) => !Number.isFinite(n))) return undefined;
  return {
    pid,
    ppid: Number(ppid),
    command: line.slice(open + 1, close),
    state,
    cpuTicks: Number(utime) + Number(stime),
    threads: Number(threads),
  };
}

/** `root` and every process below it, parents before children. */
export function processTree(root: number, all: ProcessSnapshot[]): ProcessSnapshot[] {
  const byParent = new Map<number, ProcessSnapshot[]>();
  for (const p of all) {
    const siblings = byParent.get(p.ppid);
    if (siblings) siblings.push(p);
    else byParent.set(p.ppid, [p]);
  }
  const out: ProcessSnapshot[] = [];
  const visit = (pid: number) => {
    for (const child of byParent.get(pid) ?? []) {
      out.push(child);
      visit(child.pid);
    }
  };
  const self = all.find((p) => p.pid === root);
  if (self) out.push(self);
  visit(root);
  return out;
}

function readStats(): ProcessSnapshot[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcessSnapshot[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const snap = parseStat(readFileSync(`/proc/${name}/stat`, "utf8"));
      if (snap) out.push(snap);
    } catch {
      // It ended while we looked.
    }
  }
  return out;
}

function wchan(pid: number): string {
  try {
    const w = readFileSync(`/proc/${pid}/wchan`, "utf8").trim();
    return w === "" || w === "0" ? "" : ` in ${w}`;
  } catch {
    return "";
  }
}

/** One line for the tree under `root`: "node 1234 S in ep_poll, 7 threads, 2.31 s CPU; …". */
export function describeProcessTree(root: number | undefined): string {
  if (root === undefined) return "no process";
  const tree = processTree(root, readStats());
  if (tree.length === 0) return "no process";
  return tree
    .map((p) => {
      const cpu = `${(p.cpuTicks / 100).toFixed(2)} s CPU`;
      return `${p.command} ${p.pid} ${p.state}${wchan(p.pid)}, ${p.threads} threads, ${cpu}`;
    })
    .join("; ");
}
