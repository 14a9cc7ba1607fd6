import { UsageError } from '../crawl/usage-error.js';

// The parsing of the identity flags whose text needs more than a number: `--header` and
// `--session-block-codes`. What the values may be is checked with the crawl options
// (session-options.ts), so library users get the same errors; here only their CLI syntax.

/**
 * Parses repeated `--header 'Name: value'` flags into a header object, in order. The name is
 * everything before the first `:` (taken as typed: `Name : value` is refused later, a name has
 * no spaces); the value is the rest with surrounding spaces and tabs removed, and may be empty.
 * Throws a UsageError for a flag with no `:` or an empty name, and for a name given twice
 * (case-insensitively: one header, one value; join list values with `, `). Messages say which
 * `--header` (1st, 2nd...) is wrong and never quote its text, which may be a secret.
 */
export function parseHeaderFlags(specs: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  const seen = new Map<string, string>();
  specs.forEach((spec, i) => {
    const which = specs.length === 1 ? '--header' : `--header #${i + 1}`;
    const colon = spec.indexOf(':');
    if (colon < 0) throw new UsageError(`${which}: expected 'Name: value' (there is no ':')`);
    if (colon === 0) throw new UsageError(`${which}: expected 'Name: value' (the name before ':' is empty)`);
    const name = spec.slice(0, colon);
    const value = spec.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    const lower = name.toLowerCase();
    const before = seen.get(lower);
    if (before !== undefined && /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      throw new UsageError(
        `--header: ${name} given twice (as ${before} and ${name}): give it once, values joined with ", "`,
      );
    }
    seen.set(lower, name);
    headers[name] = value;
  });
  return headers;
}

/**
 * Parses `--session-block-codes`: comma-separated whole numbers (`401,403,429`; spaces allowed),
 * or `none` (or an empty value) for no status at all. Throws a UsageError naming the flag for an
 * entry that is not a whole number; the range (100-599) is checked with the crawl options.
 */
export function parseBlockCodes(value: string): number[] {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'none') return [];
  return v.split(',').map((part) => {
    const s = part.trim();
    if (!/^\d{1,6}$/.test(s)) {
      throw new UsageError(
        `--session-block-codes: ${JSON.stringify(part.trim())} is not a status code (expected e.g. 401,403,429, or none)`,
      );
    }
    return Number(s);
  });
}
