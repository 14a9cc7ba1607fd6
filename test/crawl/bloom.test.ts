import { describe, expect, it } from 'vitest';
import { BloomFilter } from '../../src/crawl/dedup/bloom.js';
import { SeenSet } from '../../src/crawl/dedup/seen-set.js';

/** Deterministic PRNG (mulberry32) so the measured rates are reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomStrings(count: number, seed: number, prefix: string): string[] {
  const r = rng(seed);
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789/-_.?=&';
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = prefix;
    const len = 5 + Math.floor(r() * 40);
    for (let j = 0; j < len; j++) s += chars[Math.floor(r() * chars.length)];
    out.push(s);
  }
  return out;
}

describe('BloomFilter', () => {
  it('sizes itself with the standard formulas', () => {
    const f = new BloomFilter(1_000_000, 0.01);
    // m = -n ln p / ln^2 2 = 9_585_059 bits -> rounded up to a multiple of 32; k = round(m/n ln2) = 7.
    expect(f.bits).toBe(Math.ceil(9_585_059 / 32) * 32);
    expect(f.hashes).toBe(7);
    const g = new BloomFilter(1000, 0.001);
    expect(g.hashes).toBe(10);
    expect(new BloomFilter(0, 0.5).bits).toBeGreaterThanOrEqual(32);
  });

  it('rejects bad parameters', () => {
    expect(() => new BloomFilter(10, 0)).toThrow(RangeError);
    expect(() => new BloomFilter(10, 1)).toThrow(RangeError);
    expect(() => new BloomFilter(10, Number.NaN)).toThrow(RangeError);
    expect(() => new BloomFilter(Number.POSITIVE_INFINITY, 0.1)).toThrow(RangeError);
    expect(() => new BloomFilter(1e12, 0.01)).toThrow(/exceed/);
  });

  it('has no false negatives', () => {
    const f = new BloomFilter(20_000, 0.01);
    const items = randomStrings(20_000, 1, 'http://h/');
    for (const s of items) f.add(s);
    expect(items.filter((s) => !f.has(s))).toEqual([]);
    expect(f.has('')).toBe(false);
    f.add('');
    expect(f.has('')).toBe(true);
  });

  for (const target of [0.01, 0.001]) {
    it(`measured false-positive rate on 100k random strings is within 2x of ${target}`, () => {
      const n = 100_000;
      const f = new BloomFilter(n, target);
      for (const s of randomStrings(n, 42, 'in:')) f.add(s);
      // Probe strings are disjoint from the inserted ones by their prefix.
      const probes = randomStrings(n, 7, 'out:');
      let fp = 0;
      for (const s of probes) if (f.has(s)) fp++;
      const rate = fp / n;
      expect(rate).toBeLessThan(target * 2);
      expect(rate).toBeGreaterThan(target / 2);
    });
  }

  it('handles similar strings (URLs differing in one character) independently', () => {
    const f = new BloomFilter(10_000, 0.01);
    for (let i = 0; i < 10_000; i++) f.add(`https://example.com/page/${i}`);
    let fp = 0;
    for (let i = 10_000; i < 110_000; i++) if (f.has(`https://example.com/page/${i}`)) fp++;
    expect(fp / 100_000).toBeLessThan(0.02);
  });

  it('round-trips through toBuffer/fromBuffer', () => {
    const f = new BloomFilter(5000, 0.01);
    const items = randomStrings(5000, 3, '');
    for (const s of items) f.add(s);
    const buf = f.toBuffer();
    expect(buf.length).toBe(16 + f.bits / 8);
    const g = BloomFilter.fromBuffer(new Uint8Array(buf));
    expect(g.bits).toBe(f.bits);
    expect(g.hashes).toBe(f.hashes);
    expect(g.fillRatio()).toBe(f.fillRatio());
    expect(items.filter((s) => !g.has(s))).toEqual([]);
    const probes = randomStrings(5000, 9, 'x');
    expect(probes.map((s) => g.has(s))).toEqual(probes.map((s) => f.has(s)));
  });

  it('fromBuffer refuses garbage', () => {
    expect(() => BloomFilter.fromBuffer(Buffer.from('nope'))).toThrow(/not a bloom filter/);
    const buf = new BloomFilter(100, 0.1).toBuffer();
    expect(() => BloomFilter.fromBuffer(buf.subarray(0, buf.length - 4))).toThrow(/truncated/);
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(9, 4);
    expect(() => BloomFilter.fromBuffer(bad)).toThrow(/version/);
  });
});

describe('SeenSet', () => {
  it('add returns true exactly once per URL', () => {
    const s = new SeenSet({ expected: 1000 });
    expect(s.add('http://a/')).toBe(true);
    expect(s.add('http://a/')).toBe(false);
    expect(s.has('http://a/')).toBe(true);
    expect(s.has('http://b/')).toBe(false);
    expect(s.size).toBe(1);
  });

  it('loses no URL when the Bloom filter is tiny and full of false positives', () => {
    // 32 bits for 20k URLs: nearly every lookup is a Bloom positive.
    const s = new SeenSet({ expected: 1, fpRate: 0.5 });
    const urls = randomStrings(20_000, 5, 'http://h/');
    const distinct = new Set(urls);
    let accepted = 0;
    for (const u of urls) if (s.add(u)) accepted++;
    expect(accepted).toBe(distinct.size);
    expect(s.size).toBe(distinct.size);
    expect([...distinct].filter((u) => s.add(u))).toEqual([]);
    expect(randomStrings(2000, 6, 'http://other/').filter((u) => s.has(u))).toEqual([]);
    const st = s.stats();
    expect(st.falsePositives).toBeGreaterThan(distinct.size * 0.9);
  });

  it('confirms Bloom positives through the confirm hook (external exact store)', () => {
    const store = new Set<string>();
    let confirmCalls = 0;
    const s = new SeenSet({
      expected: 1,
      fpRate: 0.5,
      confirm: (u) => {
        confirmCalls++;
        return store.has(u);
      },
    });
    const urls = randomStrings(5000, 11, 'https://x/');
    for (const u of urls) if (s.add(u)) store.add(u);
    expect(store.size).toBe(new Set(urls).size);
    expect(confirmCalls).toBeGreaterThan(0);
    expect(urls.filter((u) => s.add(u))).toEqual([]);
  });

  it('with a normal-size filter, new URLs rarely reach the exact store', () => {
    let confirmCalls = 0;
    const store = new Set<string>();
    const s = new SeenSet({
      expected: 50_000,
      fpRate: 0.01,
      confirm: (u) => {
        confirmCalls++;
        return store.has(u);
      },
    });
    for (const u of randomStrings(50_000, 12, 'http://y/')) if (s.add(u)) store.add(u);
    expect(confirmCalls).toBeLessThan(50_000 * 0.02);
  });

  it('preload marks URLs of an existing store as seen without counting them', () => {
    const store = new Set(['http://a/1', 'http://a/2']);
    const s = new SeenSet({ expected: 100, confirm: (u) => store.has(u) });
    for (const u of store) s.preload(u);
    expect(s.add('http://a/1')).toBe(false);
    expect(s.add('http://a/3')).toBe(true);
    expect(s.size).toBe(1);
  });
});
