// The pages the grader writes (feedback, written-answer grading, the class summary, the
// leaderboard) are self-contained HTML files: one head, one escaping rule, written here once.

/** Text as HTML: the five characters that could open markup or end an attribute, escaped. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** A whole page: `title` is text (escaped here), `style` and `body` are HTML already. */
export function htmlPage(title: string, style: string, body: readonly string[]): string {
  return [
    "<!doctype html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${style}</style></head><body>`,
    ...body,
    "</body></html>",
    "",
  ].join("\n");
}
