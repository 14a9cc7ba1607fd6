import { describe, expect, it } from 'vitest';
import { ProxyPool, type ProxyPoolOptions } from '../../src/crawl/fetch/proxy-pool.js';
import { parseProxyUrl } from '../../src/crawl/fetch/proxy-url.js';

/** A hand-driven clock: time moves only when the test says so. */
class ManualClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

function pool(n: number, opts: ProxyPoolOptions = {}) {
  const clock = new ManualClock();
  const specs = Array.from({ length: n }, (_, i) =>
    parseProxyUrl(`http://u:secret${i}@127.0.0.${i + 1}:3128`),
  );
  const p = new ProxyPool(specs, { clock, baseBackoffMs: 1000, maxBackoffMs: 8000, ...opts });
  return { p, clock };
}

/** The index of a pick, failing the test when it is a wait. */
function index(r: { index: number } | { waitMs: number }): number {
  if (!('index' in r)) throw new Error(`expected a proxy, got a wait of ${r.waitMs} ms`);
  return r.index;
}

describe('ProxyPool round-robin', () => {
  it('spreads picks evenly over the proxies, whatever the slot', () => {
    const { p } = pool(3);
    const seen = Array.from({ length: 9 }, (_, k) => index(p.pick(k % 2)));
    expect(seen).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    expect(p.stats().map((s) => s.requests)).toEqual([3, 3, 3]);
  });

  it('skips a proxy on backoff and gives its share to the others', () => {
    const { p } = pool(3);
    p.failed(1, 'refused');
    const seen = Array.from({ length: 6 }, () => index(p.pick(0)));
    expect(seen).toEqual([0, 2, 0, 2, 0, 2]);
  });

  it('takes a proxy back into the rotation when its backoff ends', () => {
    const { p, clock } = pool(2);
    p.failed(0, 'refused');
    expect([index(p.pick(0)), index(p.pick(0))]).toEqual([1, 1]);
    clock.advance(1000);
    const seen = Array.from({ length: 4 }, () => index(p.pick(0)));
    expect(seen.filter((i) => i === 0)).toHaveLength(2);
    expect(seen.filter((i) => i === 1)).toHaveLength(2);
  });
});

describe('ProxyPool sticky sessions', () => {
  it('keeps slot k on proxy k mod n', () => {
    const { p } = pool(3, { rotation: 'session' });
    for (let round = 0; round < 3; round++) {
      for (let slot = 0; slot < 7; slot++) expect(index(p.pick(slot))).toBe(slot % 3);
    }
  });

  it('moves a slot to the next up proxy while its own is down, and back when it recovers', () => {
    const { p, clock } = pool(3, { rotation: 'session' });
    p.failed(1, 'refused');
    expect(index(p.pick(1))).toBe(2);
    expect(index(p.pick(4))).toBe(2);
    expect(index(p.pick(0))).toBe(0);
    p.failed(2, 'refused');
    expect(index(p.pick(1))).toBe(0); // wraps past the end
    clock.advance(1000);
    expect(index(p.pick(1))).toBe(1);
    expect(index(p.pick(2))).toBe(2);
  });

  it('maps negative and non-integer slots onto a proxy', () => {
    const { p } = pool(3, { rotation: 'session' });
    expect(index(p.pick(-1))).toBe(2);
    expect(index(p.pick(4.7))).toBe(1);
    expect(index(p.pick(Number.NaN))).toBe(0);
  });
});

describe('ProxyPool backoff', () => {
  it('doubles the backoff on each failure after a backoff ends, up to the cap', () => {
    const { p, clock } = pool(1);
    const backoffs: number[] = [];
    for (let k = 0; k < 6; k++) {
      p.failed(0, 'refused');
      const until = p.stats()[0]!.until!;
      backoffs.push(until - clock.now());
      clock.t = until; // the backoff ends: half-open, tried again
      expect(p.stats()[0]!.state).toBe('up');
      expect(index(p.pick(0))).toBe(0);
    }
    expect(backoffs).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });

  it('does not pile up failures reported while the proxy is already on backoff', () => {
    const { p, clock } = pool(1);
    p.failed(0, 'refused'); // the first of five in-flight requests
    clock.advance(10);
    for (let k = 0; k < 4; k++) p.failed(0, 'refused');
    expect(p.stats()[0]).toMatchObject({ errors: 5, state: 'backoff', until: 1_001_000 });
    clock.t = 1_001_000;
    expect(index(p.pick(0))).toBe(0);
    p.failed(0, 'refused'); // one attempt after the backoff: one doubling
    expect(p.stats()[0]!.until).toBe(1_001_000 + 2000);
  });

  it('does not step the backoff for a late failure of a request picked before the backoff ended', () => {
    const { p, clock } = pool(1);
    index(p.pick(0));
    index(p.pick(0)); // two requests in flight
    p.failed(0, 'refused');
    clock.advance(1500); // the backoff has ended, nothing picked since
    p.failed(0, 'timeout'); // the second request times out late
    expect(p.stats()[0]).toMatchObject({ errors: 2, state: 'up', until: null, lastError: 'timeout' });
    index(p.pick(0));
    p.failed(0, 'refused'); // the half-open attempt fails: doubled, not quadrupled
    expect(p.stats()[0]!.until).toBe(clock.now() + 2000);
  });

  it('starts over from the base after a success', () => {
    const { p, clock } = pool(1);
    p.failed(0, 'refused');
    clock.advance(1000);
    index(p.pick(0));
    p.failed(0, 'refused');
    clock.advance(2000);
    index(p.pick(0));
    p.succeeded(0);
    expect(p.stats()[0]).toMatchObject({ state: 'up', until: null });
    p.failed(0, 'refused');
    expect(p.stats()[0]!.until).toBe(clock.now() + 1000);
  });

  it('answers the wait until the first proxy is back when all are down, counting nothing', () => {
    const { p, clock } = pool(3);
    p.failed(0, 'refused'); // back at +1000
    clock.advance(100);
    p.failed(1, 'refused'); // back at +1100
    p.failed(2, 'refused');
    clock.advance(300);
    p.failed(2, 'refused'); // already on backoff: stays back at +1100
    expect(p.allDown()).toBe(true);
    const requestsBefore = p.stats().map((s) => s.requests);
    expect(p.pick(0)).toEqual({ waitMs: 600 });
    expect(p.pick(5)).toEqual({ waitMs: 600 });
    expect(p.stats().map((s) => s.requests)).toEqual(requestsBefore);
    clock.advance(600);
    expect(p.allDown()).toBe(false);
    expect(index(p.pick(0))).toBe(0);
  });

  it('waits in sticky mode too when every proxy is down', () => {
    const { p, clock } = pool(2, { rotation: 'session' });
    p.failed(0, 'refused');
    p.failed(1, 'refused');
    expect(p.pick(1)).toEqual({ waitMs: 1000 });
    clock.advance(1000);
    expect(index(p.pick(1))).toBe(1);
  });
});

describe('ProxyPool stats', () => {
  it('reports requests, errors, state and until per proxy with the display only', () => {
    const { p, clock } = pool(2);
    index(p.pick(0));
    index(p.pick(0));
    index(p.pick(0));
    p.failed(1, 'proxy answered 407');
    const stats = p.stats();
    expect(stats).toEqual([
      { display: 'http://127.0.0.1:3128', requests: 2, errors: 0, state: 'up', until: null, lastError: null },
      {
        display: 'http://127.0.0.2:3128',
        requests: 1,
        errors: 1,
        state: 'backoff',
        until: clock.now() + 1000,
        lastError: 'proxy answered 407',
      },
    ]);
    expect(JSON.stringify(stats)).not.toMatch(/secret|u:/);
  });

  it('refuses an empty pool, bad backoff options and unknown indexes', () => {
    expect(() => new ProxyPool([])).toThrow(RangeError);
    const one = [parseProxyUrl('http://127.0.0.1:3128')];
    expect(() => new ProxyPool(one, { baseBackoffMs: 0 })).toThrow(RangeError);
    expect(() => new ProxyPool(one, { baseBackoffMs: 1000, maxBackoffMs: 10 })).toThrow(RangeError);
    const { p } = pool(2);
    expect(() => p.failed(2, 'x')).toThrow(RangeError);
    expect(() => p.succeeded(-1)).toThrow(RangeError);
    expect(() => p.failed(0.5, 'x')).toThrow(RangeError);
  });

  it('defaults to round-robin on the system clock', () => {
    const p = new ProxyPool([parseProxyUrl('http://127.0.0.1:3128'), parseProxyUrl('http://127.0.0.2:3128')]);
    expect(p.rotation).toBe('round-robin');
    expect(p.size).toBe(2);
    expect([index(p.pick(0)), index(p.pick(0))]).toEqual([0, 1]);
  });
});
