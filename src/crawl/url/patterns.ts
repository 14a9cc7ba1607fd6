/**
 * URL include/exclude patterns: `*`-globs and `/regex/flags` strings, compiled once into plain
 * predicate functions so scope checks on every link stay cheap.
 */

/** A compiled pattern: true when the URL (or string) matches. */
export type Matcher = (input: string) => boolean;

const REGEX_FORM = /^\/(.+)\/([a-z]*)$/s;
const ALLOWED_FLAGS = /^[imsuv]*$/;

/**
 * Compiles one include/exclude pattern into a predicate over whole URLs.
 *
 * Two forms are accepted:
 * - `/body/flags` (a slash, a non-empty body, a closing slash, then only letters) is a JavaScript
 *   regular expression searched anywhere in the URL (use `^`/`$` to anchor). Allowed flags are
 *   `i m s u v`; `g` and `y` are refused because they make `test()` stateful.
 * - anything else is a glob matched against the WHOLE URL: `*` (and `**`, which means the same)
 *   matches any run of characters, including `/` and none at all; every other character,
 *   `?` included, matches itself. Matching is case-sensitive.
 *
 * Throws an `Error` whose message names the pattern for an empty pattern, an invalid regex or a
 * disallowed flag, so a CLI can report it as bad usage before the crawl starts.
 */
export function compilePattern(pattern: string): Matcher {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw new Error(`invalid pattern ${JSON.stringify(pattern)}: empty pattern`);
  }
  const m = REGEX_FORM.exec(pattern);
  if (m) {
    const [, body, flags] = m;
    if (!ALLOWED_FLAGS.test(flags!)) {
      throw new Error(`invalid pattern ${JSON.stringify(pattern)}: regex flags must be among "imsuv"`);
    }
    let re: RegExp;
    try {
      re = new RegExp(body!, flags);
    } catch (err) {
      throw new Error(`invalid pattern ${JSON.stringify(pattern)}: ${(err as Error).message}`);
    }
    return (input) => re.test(input);
  }
  return globMatcher(pattern);
}

/**
 * Compiles a `*`-only glob into a predicate that must match the whole input: `*` (any number of
 * consecutive stars counts as one) matches any run of characters, possibly empty; every other
 * character matches itself, case-sensitively. A glob without `*` is an equality test.
 *
 * Matching splits the glob at its stars and looks the literal pieces up left to right with
 * `indexOf` (leftmost placement is always safe for star-only globs), so it cannot backtrack
 * exponentially the way an equivalent `^.*a.*b$` RegExp can on hostile URLs.
 */
export function globMatcher(glob: string): Matcher {
  const parts = glob.split(/\*+/);
  if (parts.length === 1) return (input) => input === glob;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((p) => p.length > 0);
  const minLength = first.length + last.length;
  return (input) => {
    if (input.length < minLength || !input.startsWith(first) || !input.endsWith(last)) return false;
    let pos = first.length;
    const end = input.length - last.length;
    for (const piece of middle) {
      const at = input.indexOf(piece, pos);
      if (at < 0 || at + piece.length > end) return false;
      pos = at + piece.length;
    }
    return true;
  };
}

/**
 * Compiles a list of patterns with {@link compilePattern} into one predicate that is true when
 * ANY pattern matches; an empty list gives a predicate that is always false. Throws on the first
 * invalid pattern (the message names it).
 */
export function compileAny(patterns: readonly string[]): Matcher {
  const matchers = patterns.map(compilePattern);
  if (matchers.length === 0) return () => false;
  if (matchers.length === 1) return matchers[0]!;
  return (input) => {
    for (const m of matchers) if (m(input)) return true;
    return false;
  };
}
