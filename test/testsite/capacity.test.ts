import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { capacityLatency, startCapacitySite } from '../../src/testsite/capacity.js';
import { SITES } from '../../src/testsite/sites.js';

// More connections than any test opens at once, so each request is in flight on its own socket.
const agent = new Agent({ connections: 64, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string) {
  const r = await request(url, { dispatcher: agent });
  await r.body.dump();
  return { status: r.statusCode, retryAfter: r.headers['retry-after'] };
}

describe('capacity host', () => {
  it('answers 503 exactly when a request would make in-flight exceed C, and admits again once one finishes', async () => {
    const clock = new FakeClock(1_000);
    const C = 4;
    const s = await startCapacitySite({ capacity: C, baseLatencyMs: 100, clock, pages: 50 });
    try {
      const held = Array.from({ length: C }, (_, i) => get(`${s.url}p/${i + 1}`));
      await s.until((x) => x.inFlight === C);
      // Robots is exempt: answered even at full load, not counted.
      expect((await get(`${s.url}robots.txt`)).status).toBe(200);
      const refused = await Promise.all([get(`${s.url}p/10`), get(`${s.url}p/11`)]);
      expect(refused).toEqual([
        { status: 503, retryAfter: undefined },
        { status: 503, retryAfter: undefined },
      ]);
      expect(s.rejected).toBe(2);
      clock.advance(s.latencyFor(C));
      expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200, 200]);
      await s.until((x) => x.inFlight === 0);
      const again = get(`${s.url}p/12`);
      await s.until((x) => x.inFlight === 1);
      clock.advance(s.latencyFor(1));
      expect((await again).status).toBe(200);

      expect(s.successes).toBe(C + 1);
      expect(s.maxConcurrent).toBe(C);
      expect(s.decisions).toHaveLength(C + 3);
      for (const d of s.decisions) expect(d.status === 503).toBe(d.inFlight > C);
      expect(s.decisions.map((d) => d.inFlight)).toEqual([1, 2, 3, 4, 5, 5, 1]);
      // Every change of concurrency is in the series, at the clock's time.
      await s.until((x) => x.inFlight === 0);
      expect(s.series.map((p) => p.inFlight)).toEqual([0, 1, 2, 3, 4, 3, 2, 1, 0, 1, 0]);
      expect(s.series[0]!.at).toBe(1_000);
    } finally {
      await s.close();
    }
  });

  it('decides a latency that grows with concurrency toward twice the base at C', async () => {
    const clock = new FakeClock(0);
    const C = 5;
    const s = await startCapacitySite({ capacity: C, baseLatencyMs: 40, clock, pages: 20 });
    try {
      const held = Array.from({ length: C }, (_, i) => get(`${s.url}p/${i + 1}`));
      await s.until((x) => x.inFlight === C);
      const latencies = s.decisions.map((d) => d.latencyMs);
      expect(latencies).toEqual([1, 2, 3, 4, 5].map((k) => capacityLatency(40, k, C)));
      for (let i = 1; i < latencies.length; i++) expect(latencies[i]!).toBeGreaterThan(latencies[i - 1]!);
      expect(latencies[0]!).toBeGreaterThan(40);
      expect(latencies[C - 1]).toBe(80);
      // The server holds each response for exactly its decided latency.
      clock.advance(latencies[0]! - 0.001);
      expect(clock.pendingTimers).toBe(C);
      clock.advance(0.001);
      expect(clock.pendingTimers).toBe(C - 1);
      clock.advance(latencies[C - 1]!);
      expect(clock.pendingTimers).toBe(0);
      expect((await Promise.all(held)).every((r) => r.status === 200)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('can refuse with 429 and a Retry-After header', async () => {
    const clock = new FakeClock(0);
    const s = await startCapacitySite({ capacity: 1, rejectStatus: 429, retryAfter: 2, clock, pages: 5 });
    try {
      const held = get(`${s.url}`);
      await s.until((x) => x.inFlight === 1);
      expect(await get(`${s.url}p/1`)).toEqual({ status: 429, retryAfter: '2' });
      clock.advance(s.latencyFor(1));
      expect((await held).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('with the real clock, a burst of 3×C never has more than C in flight and every request is counted once', async () => {
    const C = 3;
    const s = await startCapacitySite({ capacity: C, baseLatencyMs: 30, pages: 20 });
    try {
      const results = await Promise.all(Array.from({ length: 3 * C }, (_, i) => get(`${s.url}p/${i + 1}`)));
      const ok = results.filter((r) => r.status === 200).length;
      const refused = results.filter((r) => r.status === 503).length;
      expect(ok + refused).toBe(3 * C);
      expect(ok).toBeGreaterThanOrEqual(1);
      expect(s.successes).toBe(ok);
      expect(s.rejected).toBe(refused);
      expect(s.maxConcurrent).toBeLessThanOrEqual(C);
      expect(Math.max(...s.series.map((p) => p.inFlight))).toBe(s.maxConcurrent);
      for (const d of s.decisions) expect(d.status === 503).toBe(d.inFlight > C);
    } finally {
      await s.close();
    }
  });

  it('is in the serve-demo registry as --site capacity, --latency its base latency', async () => {
    const s = await SITES.capacity!({ host: '127.0.0.1', port: 0, pages: 30, latencyMs: 0, capacity: 2 });
    try {
      expect(s.describe()).toContain('at most 2 requests at once');
      expect(s.describe()).toContain('latency 20 ms');
      expect((await get(`${s.url}p/29`)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('refuses a capacity below 1', async () => {
    await expect(startCapacitySite({ capacity: 0 })).rejects.toThrow(RangeError);
  });
});
