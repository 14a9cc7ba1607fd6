import { describe, expect, it } from 'vitest';
import { FetchError } from '../../src/crawl/fetch/errors.js';
import {
  backoffMs,
  decide,
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
    expect(retryDelay(3, {}, NOW, half)).toBe(1000);
    expect(retryDelay(2, null, NOW, half)).toBe(500);
  });
});

describe('decide (the retry policy of one attempt)', () => {
  const policy = { retries: 2, baseMs: 1000, capMs: 30_000, random: () => 0.5 };
  it('retries a retryable status while attempts ≤ retries, at the host pause or the backoff', () => {
    expect(decide({ kind: 'response', status: 500 }, 1, NOW, policy)).toEqual({
      kind: 'retry',
      at: NOW + 500,
      reason: '500',
    });
    expect(decide({ kind: 'response', status: 503, waitMs: 4000 }, 2, NOW, policy)).toEqual({
      kind: 'retry',
      at: NOW + 4000,
      reason: '503',
    });
    expect(decide({ kind: 'response', status: 429, retryAfterMs: 7000 }, 1, NOW, policy)).toMatchObject({
      at: NOW + 7000,
    });
    // Out of retries, or not retryable: the response is the page's answer.
    expect(decide({ kind: 'response', status: 500 }, 3, NOW, policy)).toEqual({ kind: 'ok' });
    expect(decide({ kind: 'response', status: 404 }, 1, NOW, policy)).toEqual({ kind: 'ok' });
    expect(decide({ kind: 'response', status: 200 }, 1, NOW, policy)).toEqual({ kind: 'ok' });
  });

  it('retries a transient error, fails a permanent one or one out of retries', () => {
    const timeout = new FetchError('timeout', 'u', 'no response within 5000 ms');
    expect(decide({ kind: 'error', error: timeout }, 1, NOW, policy)).toEqual({
      kind: 'retry',
      at: NOW + 500,
      reason: 'timeout',
    });
    expect(decide({ kind: 'error', error: timeout }, 3, NOW, policy)).toEqual({
      kind: 'fail',
      error: 'timeout: no response within 5000 ms',
    });
    const tls = new FetchError('tls', 'u', 'TLS failure');
    expect(decide({ kind: 'error', error: tls }, 1, NOW, policy)).toEqual({
      kind: 'fail',
      error: 'tls: TLS failure',
    });
  });

  it('treats an unreachable robots.txt as a failed attempt of the page', () => {
    const down = {
      kind: 'robots-unreachable',
      error: 'network: connection refused',
      retryable: true,
    } as const;
    expect(decide(down, 1, NOW, policy)).toEqual({ kind: 'retry', at: NOW + 500, reason: 'robots' });
    expect(decide(down, 3, NOW, policy)).toEqual({ kind: 'fail', error: 'network: connection refused' });
    expect(decide({ ...down, retryable: false }, 1, NOW, policy)).toEqual({
      kind: 'fail',
      error: 'network: connection refused',
    });
  });

  it('retries a page whose scraper handler threw, within --retries; a deterministic handler error fails at once', () => {
    const threw = { kind: 'handler', error: 'handler: boom', retryable: true } as const;
    expect(decide(threw, 1, NOW, policy)).toEqual({ kind: 'retry', at: NOW + 500, reason: 'handler' });
    expect(decide(threw, 3, NOW, policy)).toEqual({ kind: 'fail', error: 'handler: boom' });
    const noLabel = { kind: 'handler', error: 'handler: no handler for label X', retryable: false } as const;
    expect(decide(noLabel, 1, NOW, policy)).toEqual({
      kind: 'fail',
      error: 'handler: no handler for label X',
    });
  });
});
