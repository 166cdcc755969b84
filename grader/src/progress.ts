// A progress line for batches, on stderr: redrawn in place on a terminal, one line per finished
// submission otherwise (CI logs), so a long run always shows where it is. The label names a
// student and may quote their notebook, so it loses every control character first.
import { logLine } from "./names";

export interface ProgressCounts {
  total: number;
  graded: number;
  skipped: number;
  rejected: number;
  errors: number;
}

export class ProgressBar {
  private readonly counts: ProgressCounts;
  private readonly started = performance.now();
  private readonly tty: boolean;

  constructor(
    total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly width = 24,
  ) {
    this.counts = { total, graded: 0, skipped: 0, rejected: 0, errors: 0 };
    this.tty = Boolean(out.isTTY);
  }

  get snapshot(): ProgressCounts {
    return { ...this.counts };
  }

  line(): string {
    const c = this.counts;
    const done = c.graded + c.skipped + c.rejected + c.errors;
    const filled = c.total === 0 ? this.width : Math.round((done / c.total) * this.width);
    const bar = "#".repeat(filled) + ".".repeat(this.width - filled);
    const secs = (performance.now() - this.started) / 1000;
    const ran = c.graded + c.rejected + c.errors;
    const rate = ran > 0 ? ` · ${(secs / ran).toFixed(1)} s each` : "";
    return `[${bar}] ${done}/${c.total} · ${c.graded} graded · ${c.skipped} unchanged · ${c.rejected} rejected · ${c.errors} errors${rate}`; // prettier-ignore
  }

  tick(kind: keyof Omit<ProgressCounts, "total">, label: string): void {
    this.counts[kind]++;
    if (this.tty) this.out.write(`\r\x1b[2K${this.line()}`);
    else this.out.write(`${this.line()} · ${logLine(label)}\n`);
  }

  done(): void {
    if (this.tty) this.out.write("\n");
  }
}
