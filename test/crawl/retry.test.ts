import { describe, expect, it } from 'vitest';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import {
  backoffMs,
  isRetryable,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  RETRYABLE_STATUSES,
  retryDelay,
} from '../../src/crawl/fetch/retry.js';

const NOW = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT');

describe('isRetryable', () => {
  it('retries exactly the transient statuses', () => {
    for (let s = 100; s < 600; s++) expect(isRetryable(s)).toBe(RETRYABLE_STATUSES.includes(s));
    expect(isRetryable(503)).toBe(true);
    expect(isRetryable(404)).toBe(false);
    expect(isRetryable(501)).toBe(false);
  });
  it('retries transient error kinds only', () => {
    const e = (kind: ConstructorParameters<typeof FetchError>[0], init = {}) =>
      new FetchError(kind, 'u', 'd', init);
    expect(isRetryable(e('timeout'))).toBe(true);
    expect(isRetryable(e('network'))).toBe(true);
    expect(isRetryable(e('reset'))).toBe(true);
    expect(isRetryable(e('refused'))).toBe(true);
    expect(isRetryable(e('dns', { code: 'EAI_AGAIN' }))).toBe(true);
    expect(isRetryable(e('dns', { code: 'ENOTFOUND' }))).toBe(false);
    expect(isRetryable(e('http', { status: 429 }))).toBe(true);
    expect(isRetryable(e('http', { status: 410 }))).toBe(false);
    for (const k of [
      'tls',
      'too-large',
      'decode',
      'redirect-loop',
      'too-many-redirects',
      'redirect-blocked',
      'bad-url',
      'aborted',
    ] as const) {
      expect(isRetryable(e(k))).toBe(false);
    }
  });
});

describe('backoffMs', () => {
  it('is random() times a doubling ceiling capped at capMs', () => {
    const one = () => 0.999999;
    expect(backoffMs(1, { random: one })).toBe(499);
    expect(backoffMs(2, { random: one })).toBe(999);
    expect(backoffMs(3, { random: one })).toBe(1999);
    expect(backoffMs(7, { random: one })).toBe(29_999); // 500 * 64 = 32000 > cap
    expect(backoffMs(1000, { random: one })).toBe(29_999);
    expect(backoffMs(3, { random: () => 0.5 })).toBe(1000);
    expect(backoffMs(3, { random: () => 0 })).toBe(0);
    expect(backoffMs(2, { random: () => 0.5, baseMs: 100, capMs: 150 })).toBe(75);
    expect(backoffMs(0, { random: one })).toBe(499);
  });
  it('stays in [0, ceiling) with the real Math.random', () => {
    for (let i = 0; i < 1000; i++) {
      const d = backoffMs(4);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(4000);
    }
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfter('99999999', NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
  it('reads the three HTTP-date forms against the given clock', () => {
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', NOW)).toBe(37_000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(37_000);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', NOW)).toBe(37_000);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Mon, 06 Nov 1995 08:49:00 GMT', NOW)).toBe(MAX_RETRY_AFTER_MS);
  });
  it('returns null for absent or unusable values', () => {
    for (const v of [
      undefined,
      null,
      '',
      '-5',
      '1.5',
      'soon',
      '12abc',
      'Sun, 06 Nov 1994 08:49:37',
      '2024-01-01',
    ]) {
      expect(parseRetryAfter(v, NOW)).toBeNull();
    }
  });
});

describe('retryDelay', () => {
  const half = { random: () => 0.5 };
  it('prefers Retry-After (parsed or given), clamped; else backs off', () => {
    expect(retryDelay(3, { retryAfterMs: 7000 }, NOW, half)).toBe(7000);
    expect(retryDelay(3, { retryAfter: '9' }, NOW, half)).toBe(9000);
    expect(retryDelay(3, { retryAfterMs: 3_600_000 }, NOW, half)).toBe(120_000);
    expect(retryDelay(3, { retryAfterMs: 3_600_000 }, NOW, { ...half, maxRetryAfterMs: 5000 })).toBe(5000);
    expect(retryDelay(3, { retryAfterMs: null }, NOW, half)).toBe(1000);
    expect(retryDelay(3, new FetchError('timeout', 'u', 'd'), NOW, half)).toBe(1000);
    expect(retryDelay(2, null, NOW, half)).toBe(500);
  });
});
