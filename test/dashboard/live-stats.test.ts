import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { LiveStats, RecentRing } from '../../src/crawl/metrics/live-stats.js';

describe('LiveStats', () => {
  it('counts requests, errors and pages per completed second and leaves the current second out', () => {
    const clock = new FakeClock(1_000_000);
    const live = new LiveStats(clock.now(), { windowSeconds: 10 });
    for (let i = 0; i < 7; i++) live.request(10, clock.now());
    live.error(clock.now());
    live.page(clock.now());
    live.page(clock.now());
    expect(live.series(clock.now()).t).toEqual([]); // second 1000 still in progress
    clock.advance(1000);
    live.request(10, clock.now());
    const s = live.series(clock.now());
    expect(s.t).toEqual([1000]);
    expect(s.requests).toEqual([7]);
    expect(s.errors).toEqual([1]);
    expect(s.pages).toEqual([2]);
  });

  it('fills idle seconds with zeros and null latency, and keeps only the window', () => {
    const clock = new FakeClock(0);
    const live = new LiveStats(clock.now(), { windowSeconds: 5 });
    live.request(5, clock.now());
    clock.advance(3000); // seconds 0 (1 request), 1 and 2 (idle) completed
    let s = live.series(clock.now());
    expect(s.t).toEqual([0, 1, 2]);
    expect(s.requests).toEqual([1, 0, 0]);
    expect(s.p50).toEqual([expect.any(Number), null, null]);
    clock.advance(100_000); // far beyond the window: only the last 5 seconds remain, all idle
    s = live.series(clock.now());
    expect(s.t).toEqual([98, 99, 100, 101, 102]);
    expect(s.requests).toEqual([0, 0, 0, 0, 0]);
  });

  it('reports p50/p95/p99 within 5 % of the exact quantiles', () => {
    const clock = new FakeClock(0);
    const live = new LiveStats(clock.now(), { windowSeconds: 3 });
    // 1..1000 ms, one sample each: exact p50 = 500, p95 = 950, p99 = 990.
    for (let ms = 1000; ms >= 1; ms--) live.request(ms, clock.now());
    clock.advance(1000);
    const s = live.series(clock.now());
    expect(s.p50[0]!).toBeGreaterThan(500 * 0.95);
    expect(s.p50[0]!).toBeLessThan(500 * 1.05);
    expect(s.p95[0]!).toBeGreaterThan(950 * 0.95);
    expect(s.p95[0]!).toBeLessThan(950 * 1.05);
    expect(s.p99[0]!).toBeGreaterThan(990 * 0.95);
    expect(s.p99[0]!).toBeLessThan(990 * 1.05);
  });

  it('clamps tiny and huge latencies into the edge buckets and ignores negative ones', () => {
    const clock = new FakeClock(0);
    const live = new LiveStats(clock.now(), { windowSeconds: 3 });
    live.request(0, clock.now());
    live.request(-1, clock.now());
    clock.advance(1000);
    live.request(10 * 60 * 60 * 1000, clock.now());
    clock.advance(1000);
    const s = live.series(clock.now());
    expect(s.requests).toEqual([2, 1]);
    expect(s.p50[0]).toBe(0.1);
    expect(s.p99[1]!).toBeGreaterThan(600_000);
  });
});

describe('RecentRing', () => {
  it('keeps the newest items, newest first', () => {
    const r = new RecentRing<number>(3);
    expect(r.newestFirst()).toEqual([]);
    for (let i = 1; i <= 5; i++) r.push(i);
    expect(r.size).toBe(3);
    expect(r.newestFirst()).toEqual([5, 4, 3]);
  });
});
