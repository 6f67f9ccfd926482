/** The most characters of a name from outside (branch, repository, ref, header value) that Landfall echoes or stores. */
export const MAX_NAME_CHARS = 256;

/**
 * A name from a request or payload, cut to {@link MAX_NAME_CHARS} with an ellipsis, for answers,
 * records and job data: a 100 KB branch name would otherwise be echoed back and stored whole.
 * Matching always uses the full name; only what is shown and kept is cut. Never splits a
 * surrogate pair.
 */
export function clipName(text: string, max = MAX_NAME_CHARS): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Cuts Markdown to `limit` characters at a line break, ending with a note that says where the rest is. */
export function fitMarkdown(text: string, limit: number, pageUrl: string, what = 'plan'): string {
  if (text.length <= limit) return text;
  const note = (shown: number) =>
    `\n\n… truncated: ${shown.toLocaleString('en-US')} of ${text.length.toLocaleString('en-US')} characters shown; the full ${what} is on the [${what} page](${pageUrl})`;
  const room = limit - note(limit).length - 8;
  const cut = text.lastIndexOf('\n', room);
  const kept = text.slice(0, cut > room / 2 ? cut : room);
  return `${kept}${note(kept.length)}`;
}
