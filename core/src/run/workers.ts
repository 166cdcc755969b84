// The one way a batch runs its items N at a time (notebooks in runNotebooks, submissions in the
// grader): a fixed number of workers take the items in order from one shared position, so the
// concurrency and the order are written once.

export interface WorkersOptions {
  /** Set `requested` (e.g. on Ctrl-C) to take no further item; items already taken finish. */
  stop?: { requested: boolean };
}

/** What `runWorkers` throws when some items' work threw: every error, in item order. */
export class WorkErrors<T = unknown> extends AggregateError {
  /** The items whose work threw, in the same order as `errors`. */
  readonly failedItems: T[];

  constructor(failures: Array<{ item: T; error: unknown }>) {
    super(
      failures.map((f) => f.error),
      `${failures.length} item(s) failed`,
    );
    this.name = "WorkErrors";
    this.failedItems = failures.map((f) => f.item);
  }
}

/**
 * Runs `work` on every item, at most `jobs` at a time (at least 1), taking the items in order;
 * before taking each item a worker checks `opts.stop`. `work` is called in the same tick as its
 * item is taken, so the calls begin in item order (runNotebooks relies on it). An item whose
 * work throws does not stop the others: once every taken item is done, the errors are thrown
 * together as a WorkErrors (nothing is swallowed). Resolves when all taken items are done and
 * none threw.
 */
export async function runWorkers<T>(
  items: T[],
  jobs: number,
  work: (item: T) => Promise<void>,
  opts: WorkersOptions = {},
): Promise<void> {
  const failures: Array<{ index: number; item: T; error: unknown }> = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length && !opts.stop?.requested) {
      const index = next++;
      const item = items[index];
      try {
        await work(item);
      } catch (error) {
        failures.push({ index, item, error });
      }
    }
  };
  const workers = Math.min(Number.isNaN(jobs) ? 1 : Math.max(1, Math.floor(jobs)), items.length);
  await Promise.all(Array.from({ length: workers }, worker));
  if (failures.length > 0) throw new WorkErrors(failures.sort((a, b) => a.index - b.index));
}
