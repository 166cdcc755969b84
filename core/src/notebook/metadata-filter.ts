// jupytext's metadata filters, which decide what notebook metadata goes into the YAML header and
// what cell metadata goes onto marker lines. A filter is a string like "kernelspec,jupytext",
// "all,-widgets" or "-all"; the notebook can set its own in metadata.jupytext.
// (notebook_metadata_filter / cell_metadata_filter), combined with a default as jupytext does.

interface Filter {
  additional: string[] | "all";
  excluded: string[] | "all";
}

/** jupytext's default notebook filter: only these keys reach the header. */
export const DEFAULT_NOTEBOOK_FILTER = "jupytext,kernelspec,kernel_info,orphan,tocdepth";
/** jupytext's default cell filter: everything except Jupyter's run-state keys. */
export const DEFAULT_CELL_FILTER =
  "-autoscroll,-collapsed,-scrolled,-trusted,-execution,-ExecuteTime";

function parseFilter(text: unknown): Filter {
  const f: Filter = { additional: [], excluded: [] };
  if (typeof text !== "string") return f;
  for (const raw of text.split(",")) {
    const item = raw.trim();
    if (!item) continue;
    if (item === "all" || item === "+all") f.additional = "all";
    else if (item === "-all") f.excluded = "all";
    else if (item.startsWith("-")) {
      if (f.excluded !== "all") f.excluded.push(item.slice(1).trim());
    } else if (f.additional !== "all") f.additional.push(item.replace(/^\+/, "").trim());
  }
  return f;
}

function subset(
  metadata: Record<string, unknown>,
  keep: (key: string) => boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(metadata)) if (keep(key)) out[key] = metadata[key];
  return out;
}

/** jupytext's filter_metadata: the user's filter (if any) applied on top of the default one. */
export function filterMetadata(
  metadata: Record<string, unknown>,
  userFilter: unknown,
  defaultFilter: string,
): Record<string, unknown> {
  const def = parseFilter(defaultFilter);
  const user = parseFilter(userFilter);
  let defExcluded = def.excluded;
  if (
    Array.isArray(def.additional) &&
    def.additional.length > 0 &&
    Array.isArray(defExcluded) &&
    defExcluded.length === 0
  ) {
    defExcluded = "all";
  }
  const has = (list: string[] | "all", key: string) => list === "all" || list.includes(key);
  if (user.additional === "all") return subset(metadata, (k) => !has(user.excluded, k));
  if (user.excluded === "all") return subset(metadata, (k) => has(user.additional, k));
  if (defExcluded === "all") {
    return subset(
      metadata,
      (k) => (has(user.additional, k) || has(def.additional, k)) && !has(user.excluded, k),
    );
  }
  // Cell metadata: everything except the excluded keys; empty tags are not written.
  const tagsEmpty = Array.isArray(metadata.tags) && metadata.tags.length === 0;
  return subset(
    metadata,
    (k) =>
      !(k === "tags" && tagsEmpty) &&
      !has(user.excluded, k) &&
      !(has(defExcluded, k) && !has(user.additional, k)),
  );
}
