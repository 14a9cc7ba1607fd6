/**
 * White space as HTML defines it: only ASCII whitespace (TAB, LF, FF, CR, SPACE) is markup
 * spacing. U+00A0, U+3000 and the other Unicode spaces are text (a Japanese title may start with
 * an ideographic space), which is why page text is never trimmed with `String.prototype.trim`.
 */

/**
 * Strips leading and trailing ASCII whitespace (TAB, LF, FF, CR, SPACE) and collapses inner runs
 * of it to one space: the HTML spec's "strip and collapse ASCII whitespace", which is what
 * `document.title` does. Other white space (U+00A0, U+3000 ...) is text and kept, unlike
 * `String.prototype.trim`.
 */
export function stripAndCollapse(s: string): string {
  return stripAscii(s.replace(/[\t\n\f\r ]+/g, ' '));
}

/** Strips leading and trailing ASCII whitespace (TAB, LF, FF, CR, SPACE) only; see stripAndCollapse. */
export function stripAscii(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isAsciiSpace(s.charCodeAt(start))) start++;
  while (end > start && isAsciiSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}
