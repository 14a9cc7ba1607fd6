import { describe, expect, it } from 'vitest';
import { progressLine } from '../../src/cli/progress.js';

const p = { stored: 120, queued: 40, inFlight: 3, elapsedMs: 61_400 };
const snap = (proxiesDown: boolean) => ({ errors: { total: 2, byKind: {} }, proxiesDown });

describe('progressLine', () => {
  it('text mode: the usual counters, and no waiting note while a proxy is up', () => {
    expect(progressLine(p, snap(false), 12.34, false)).toBe(
      'stored 120  queued 40  in flight 3  12.3 pages/s  errors 2  61s',
    );
  });

  it('text mode: says it waits while every proxy is down', () => {
    expect(progressLine(p, snap(true), 0, false)).toBe(
      'stored 120  queued 40  in flight 3  0.0 pages/s  errors 2  61s  waiting: all proxies down',
    );
  });

  it('JSON mode: proxiesDown appears only while every proxy is down', () => {
    expect(JSON.parse(progressLine(p, snap(false), 12.34, true))).toEqual({
      event: 'progress',
      stored: 120,
      queued: 40,
      inFlight: 3,
      rps: 12.3,
      errors: 2,
      elapsedMs: 61_400,
    });
    expect(JSON.parse(progressLine(p, snap(true), 0, true))).toEqual({
      event: 'progress',
      stored: 120,
      queued: 40,
      inFlight: 3,
      rps: 0,
      errors: 2,
      elapsedMs: 61_400,
      proxiesDown: true,
    });
  });
});
