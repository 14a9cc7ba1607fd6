import { UsageError } from '../crawl/options.js';

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration flag: `500ms`, `5s`, `1.5m`, `2h`, `7d`, or a bare number of seconds. Throws a
 * UsageError naming the flag for anything else, including negative and non-finite values.
 */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m)
    throw new UsageError(`--${flag}: invalid duration ${JSON.stringify(value)} (use e.g. 500ms, 5s, 2m)`);
  return Number(m[1]) * DURATION_UNITS[m[2] ?? 's']!;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  k: 1024,
  mb: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  g: 1024 ** 3,
};

/** Parses a byte size: `10MB`, `512kb`, `1g`, or a bare number of bytes (binary units). */
export function parseSize(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?b?)?$/i.exec(value.trim());
  if (!m) throw new UsageError(`--${flag}: invalid size ${JSON.stringify(value)} (use e.g. 10MB, 512KB)`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] || 'b').toLowerCase()]!);
}

/** Parses a rate: a positive number of requests per second, or `inf`. */
export function parseRate(flag: string, value: string): number {
  const v = value.trim().toLowerCase();
  if (v === 'inf' || v === 'infinity' || v === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(v);
  if (v === '' || !Number.isFinite(n) || n <= 0) {
    throw new UsageError(`--${flag} must be a positive number or inf (got ${JSON.stringify(value)})`);
  }
  return n;
}

/** Parses a whole number; `min` is inclusive. `inf`/`unlimited` is allowed when `allowInf`. */
export function parseCount(flag: string, value: string, min = 0, allowInf = false): number {
  const v = value.trim().toLowerCase();
  if (allowInf && (v === 'inf' || v === 'unlimited' || v === '0')) return Number.POSITIVE_INFINITY;
  if (!/^\d+$/.test(v))
    throw new UsageError(`--${flag} must be a whole number (got ${JSON.stringify(value)})`);
  const n = Number(v);
  if (n < min) throw new UsageError(`--${flag} must be at least ${min} (got ${n})`);
  return n;
}

/** Splits a comma-separated list flag, dropping empty entries. */
export function parseList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
