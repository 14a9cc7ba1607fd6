import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { AutoThrottle } from '../../src/crawl/politeness/auto-throttle.js';
import { HostTable } from '../../src/crawl/politeness/host-table.js';
import { capacityLatency } from '../../src/testsite/capacity.js';

/** One arrival at the simulated server. */
interface Arrival {
  at: number;
  /** In flight at the server counting this request (C+1 for a refusal). */
  inFlight: number;
  refused: boolean;
}

/**
 * A host simulated on a FakeClock, driven through the crawl's HostTable with `--auto-throttle`
 * as the engine drives it: a request starts whenever `ready()` allows (an endless supply of
 * URLs), and its answer feeds `succeeded`/`throttle` then `finish`. The server admits at most
 * `capacity()` requests at once, refusing the next at once with 503 (as testsite/capacity.ts),
 * and answers an admitted k-th request after `latency(k, capacity)` ms. Nothing depends on how
 * fast the machine runs: time is the FakeClock's.
 */
function simulate(opts: {
  max: number;
  capacity: (now: number) => number;
  latency?: (k: number, capacity: number) => number;
  /** Whether the server refuses above capacity (else it queues: latency says it all). */
  refuses?: boolean;
  seconds: number;
}) {
  const clock = new FakeClock(0);
  const table = new HostTable(
    {
      rate: Number.POSITIVE_INFINITY,
      burst: 1000,
      concurrency: opts.max,
      maxPages: Number.POSITIVE_INFINITY,
      maxBackoffMs: 300_000,
      autoThrottle: true,
    },
    clock,
  );
  const s = table.get('h.test', 'ok');
  const latency = opts.latency ?? ((k, c) => capacityLatency(20, k, c));
  const refuses = opts.refuses ?? true;
  const arrivals: Arrival[] = [];
  /** [time, limit] after every change of the limit. */
  const limits: [number, number][] = [[0, s.auto!.limit]];
  let inFlight = 0;
  let wake: ReturnType<FakeClock['setTimeout']> | undefined;

  const after = () => {
    const last = limits[limits.length - 1]!;
    if (last[1] !== s.auto!.limit) limits.push([clock.now(), s.auto!.limit]);
    pump();
  };
  const pump = () => {
    for (;;) {
      const now = clock.now();
      if (!table.ready(s, now)) break;
      table.take(s, now);
      const sentAt = now;
      const c = opts.capacity(now);
      if (refuses && inFlight >= c) {
        arrivals.push({ at: now, inFlight: inFlight + 1, refused: true });
        clock.setTimeout(() => {
          table.throttle(s, null, sentAt, 503);
          table.finish(s, false);
          after();
        }, 0.5);
        continue;
      }
      inFlight++;
      arrivals.push({ at: now, inFlight, refused: false });
      const ms = latency(inFlight, c);
      clock.setTimeout(() => {
        inFlight--;
        table.succeeded(s, sentAt, clock.now() - sentAt);
        table.finish(s, true);
        after();
      }, ms);
    }
    // Not ready by time alone (the delay at limit 1): wake when it passes.
    const at = table.nextReadyAt(s, clock.now());
    if (at !== undefined && at > clock.now() && wake === undefined) {
      wake = clock.setTimeout(() => {
        wake = undefined;
        pump();
      }, at - clock.now());
    }
  };
  pump();
  clock.advance(opts.seconds * 1000);
  /** Arrivals in [from, to) ms. */
  const between = (from: number, to = Number.POSITIVE_INFINITY) =>
    arrivals.filter((a) => a.at >= from && a.at < to);
  return { s, arrivals, limits, between };
}

/** Admitted requests per second in [from, to). */
const rate = (as: Arrival[], from: number, to: number) =>
  as.filter((a) => !a.refused).length / ((to - from) / 1000);

/** The most a capacity host serves per second: C requests of latency(C) at a time. */
const capacityRate = (c: number, base = 20) => c / (capacityLatency(base, c, c) / 1000);

describe('AutoThrottle on a simulated capacity host (fake clock)', () => {
  it('settles at ≤ C concurrent requests with no errors, getting ≥ 90 % of capacity (C = 8, max 64)', () => {
    const { arrivals, between, s } = simulate({ max: 64, capacity: () => 8, seconds: 120 });
    const refusals = arrivals.filter((a) => a.refused);
    // Every refusal was in the first seconds (slow start's overshoot and the decrease after it).
    const settledAt = Math.max(0, ...refusals.map((a) => a.at));
    expect(settledAt).toBeLessThan(30_000);
    const after = between(settledAt + 1);
    expect(Math.max(...after.map((a) => a.inFlight))).toBeLessThanOrEqual(8);
    expect(after.filter((a) => a.refused)).toEqual([]);
    expect(refusals.length / arrivals.length).toBeLessThan(0.01);
    expect(rate(arrivals, 30_000, 120_000)).toBeGreaterThanOrEqual(0.9 * capacityRate(8));
    expect(s.auto!.limit).toBeLessThanOrEqual(8);
  });

  it('on a host that refuses at C without slowing first, probes C+1 ever more rarely: < 1 % errors, ≥ 90 % of capacity', () => {
    const { arrivals, between, s } = simulate({
      max: 64,
      capacity: () => 8,
      latency: () => 20,
      seconds: 120,
    });
    const late = between(10_000);
    const refused = late.filter((a) => a.refused).length;
    expect(refused).toBeGreaterThan(0); // without a latency warning it must probe
    expect(refused / late.length).toBeLessThan(0.01);
    // 8 at 20 ms is 400/s.
    expect(rate(arrivals, 10_000, 120_000)).toBeGreaterThanOrEqual(0.9 * 400);
    expect(s.auto!.limit).toBeGreaterThanOrEqual(8);
  });

  it('recovers when capacity rises: C = 4 for 30 s, then 16', () => {
    const { between, arrivals } = simulate({
      max: 64,
      capacity: (now) => (now < 30_000 ? 4 : 16),
      seconds: 60,
    });
    expect(rate(arrivals, 10_000, 30_000)).toBeGreaterThanOrEqual(0.9 * capacityRate(4));
    expect(rate(arrivals, 45_000, 60_000)).toBeGreaterThanOrEqual(0.9 * capacityRate(16));
    const late = between(45_000);
    expect(late.filter((a) => a.refused).length / late.length).toBeLessThan(0.01);
  });

  it('comes down when capacity falls: C = 16 for 20 s, then 4', () => {
    const { between, arrivals } = simulate({
      max: 64,
      capacity: (now) => (now < 20_000 ? 16 : 4),
      seconds: 50,
    });
    const late = between(30_000);
    expect(late.filter((a) => a.refused)).toEqual([]);
    expect(rate(arrivals, 30_000, 50_000)).toBeGreaterThanOrEqual(0.9 * capacityRate(4));
  });

  it('stays at the configured maximum on a host with ample capacity', () => {
    const { s, limits } = simulate({ max: 64, capacity: () => 100_000, seconds: 30 });
    // Slow start: 1, 2, 4, ... 64, and never a decrease.
    expect(limits.map(([, l]) => l)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(s.auto!.limit).toBe(64);
    expect(s.auto!.state().reason).toBe('slow-start');
  });

  it('keeps latency bounded on a host that queues instead of refusing (latency is the only signal)', () => {
    // Serves 8 at a time; the rest wait their turn: latency grows with the queue.
    const { s, between } = simulate({
      max: 64,
      capacity: () => 8,
      refuses: false,
      latency: (k, c) => 20 * Math.max(1, k / c),
      seconds: 60,
    });
    const late = between(20_000);
    // At most 2.5 × base latency: in flight ≤ 2.5 × C.
    expect(Math.max(...late.map((a) => a.inFlight))).toBeLessThanOrEqual(20);
    expect(s.auto!.limit).toBeLessThanOrEqual(20);
    // And the host is kept busy: C = 8 at 20 ms is 400/s.
    expect(rate(late, 20_000, 60_000)).toBeGreaterThanOrEqual(0.9 * 400);
  });
});

describe('AutoThrottle: the rules', () => {
  /** A throttle grown by slow start to `limit` (windows of fast answers, each limit-bound). */
  function grown(limit: number, max = 64) {
    const t = new AutoThrottle({ maxConcurrency: max }, 0);
    let now = 0;
    while (t.limit < limit) {
      const l = t.limit;
      now += 1;
      for (let i = 0; i < l; i++) t.sent(i + 1);
      now += 20;
      for (let i = 0; i < l; i++) t.responded(now - 20, 20, now);
    }
    return { t, now };
  }

  it('one burst of 503s is one decrease; a 503 of a request sent after it is a new one', () => {
    const { t, now } = grown(16);
    expect(t.limit).toBe(16);
    const sentAt = now + 1;
    // 16 requests sent at once; the server took 8 and refused 8 at once.
    const news = Array.from({ length: 8 }, (_, i) => t.overloaded(sentAt, 503, sentAt + 1 + i));
    expect(news).toEqual([true, false, false, false, false, false, false, false]);
    expect(t.limit).toBe(11); // ⌊16 · 0.7⌋
    expect(t.state()).toMatchObject({ reason: '503', changedAt: sentAt + 1 });
    expect(t.overloaded(sentAt + 5, 429, sentAt + 6)).toBe(true);
    expect(t.limit).toBe(7);
    expect(t.state().reason).toBe('429');
  });

  it('answers to requests sent before a change do not count in the next window', () => {
    const { t, now } = grown(8);
    t.overloaded(now, 503, now + 1); // 8 → 5
    expect(t.limit).toBe(5);
    for (let i = 0; i < 20; i++) t.responded(now, 20, now + 2 + i); // sent before the decrease
    expect(t.limit).toBe(5);
    expect(t.changes).toBe(4); // 1→2→4→8, then → 5
  });

  it('grows only when the host took the load: a window that never reached the limit holds', () => {
    const { t, now } = grown(4);
    for (let i = 0; i < 4; i++) t.sent(2); // never more than 2 in flight
    for (let i = 0; i < 4; i++) t.responded(now + 1, 20, now + 30);
    expect(t.limit).toBe(4);
  });

  it('at limit 1 a 503 adds a delay that doubles per event, and good windows take it away', () => {
    const t = new AutoThrottle({ maxConcurrency: 8, maxDelayMs: 1000 }, 0);
    t.sent(1);
    t.responded(0, 20, 20); // base 20 ms; slow start → 2
    expect(t.limit).toBe(2);
    t.overloaded(21, 503, 22);
    expect([t.limit, t.delayMs]).toEqual([1, 0]);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      t.overloaded(100 + i, 503, 100 + i);
      delays.push(t.delayMs);
    }
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    // Windows of one fast answer halve it, down to none; only then may the limit grow.
    const after: [number, number][] = [];
    for (let i = 0; i < 6; i++) {
      t.sent(1);
      t.responded(200 + i * 30, 20, 220 + i * 30);
      after.push([t.limit, t.delayMs]);
    }
    expect(after).toEqual([
      [1, 500],
      [1, 250],
      [1, 125],
      [1, 0],
      [2, 0],
      [2, 0], // a window is now two answers
    ]);
  });

  it('latency well above base decreases the limit; latency near base after a decrease grows it by one', () => {
    const { t, now } = grown(16);
    // A window at 16 whose answers take 3 × base: ×0.9.
    for (let i = 0; i < 16; i++) t.sent(16);
    for (let i = 0; i < 16; i++) t.responded(now + 1, 60, now + 70);
    expect(t.limit).toBe(14);
    expect(t.state().reason).toBe('latency');
    for (let i = 0; i < 14; i++) t.sent(14);
    for (let i = 0; i < 14; i++) t.responded(now + 71, 21, now + 95);
    expect(t.limit).toBe(15); // slow start is over: +1, not ×2
    expect(t.state().reason).toBe('increase');
  });

  it('holds between 1.5 and 2.5 × base', () => {
    const { t, now } = grown(8);
    for (let i = 0; i < 8; i++) t.sent(8);
    for (let i = 0; i < 8; i++) t.responded(now + 1, 40, now + 45);
    expect(t.limit).toBe(8);
    expect(t.state().latencyMs).toBe(40);
    expect(t.state().baseLatencyMs).toBe(20);
  });
});

describe('HostTable with auto-throttle', () => {
  it('a 503 pauses nothing unless it carries Retry-After, which is honoured', () => {
    const clock = new FakeClock(1000);
    const table = new HostTable(
      {
        rate: Number.POSITIVE_INFINITY,
        burst: 10,
        concurrency: 8,
        maxPages: Number.POSITIVE_INFINITY,
        maxBackoffMs: 300_000,
        autoThrottle: true,
      },
      clock,
    );
    const s = table.get('h.test', 'ok');
    expect(s.concurrencyCap).toBe(1);
    table.take(s, clock.now());
    clock.advance(10);
    expect(table.throttle(s, null, 1000, 503)).toBe(0);
    table.finish(s, false);
    // At limit 1 the 503 set a delay of 100 ms since the last start (at 1000).
    expect(table.ready(s, 1099)).toBe(false);
    expect(table.nextReadyAt(s, 1010)).toBe(1100);
    expect(table.ready(s, 1100)).toBe(true);
    table.take(s, 1100);
    clock.set(1110);
    expect(table.throttle(s, 5000, 1100, 429)).toBe(5000);
    table.finish(s, false);
    expect(table.ready(s, 6109)).toBe(false);
    expect(table.ready(s, 6110)).toBe(true);
  });
});
