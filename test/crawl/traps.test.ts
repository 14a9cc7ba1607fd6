import { describe, expect, it } from 'vitest';
import { checkTraps, maxConsecutiveRepeats, pathSegments } from '../../src/crawl/url/traps.js';
import { readConformanceJson } from '../helpers/conformance.js';

interface LoopCase {
  url: string;
  max_consecutive_identical_segments: number;
  heritrix_pathological_default_rejects: boolean;
}

const data = readConformanceJson<{
  traps: { id: string; example_urls: string[] }[];
  loop_filter_examples: { cases: LoopCase[] };
}>('crawler-traps.json');

describe('checkTraps vs crawler-traps.json loop filter examples', () => {
  const cases = data.loop_filter_examples.cases;
  it('computes the longest run of identical segments as the data does', () => {
    expect(cases.length).toBeGreaterThan(5);
    for (const c of cases)
      expect(maxConsecutiveRepeats(c.url), c.url).toBe(c.max_consecutive_identical_segments);
  });
  it("with Heritrix's limit (2 consecutive, no total rule) rejects exactly what Heritrix rejects", () => {
    for (const c of cases) {
      const r = checkTraps(c.url, {
        maxRepeatedSegments: 2,
        maxSegmentOccurrences: Number.POSITIVE_INFINITY,
      });
      expect(r !== null, c.url).toBe(c.heritrix_pathological_default_rejects);
    }
  });
  it('rejects the repeated-path-segments example URLs with the occurrence rule', () => {
    const t = data.traps.find((x) => x.id === 'repeated-path-segments')!;
    const rejected = t.example_urls.map((u) =>
      checkTraps(u, { maxRepeatedSegments: 3, maxSegmentOccurrences: 3 }),
    );
    // /a/a/a/a/a/ (5 in a row), /bar/foo/... (bar 4 times), the .shtml one ("category" 4 times).
    expect(rejected.every((r) => r !== null)).toBe(true);
  });
});

describe('checkTraps rules', () => {
  it('passes ordinary URLs', () => {
    for (const u of ['http://h/', 'http://h/a/b/c?x=1#f', 'https://h/2024/01/2024/02/', 'http://h/a/a/a/b']) {
      expect(checkTraps(u), u).toBeNull();
    }
  });
  it('flags length, depth, consecutive and total repetition, with reasons', () => {
    expect(checkTraps(`http://h/${'x'.repeat(3000)}`)).toMatch(/url length 3009 over 2048/);
    expect(checkTraps(`http://h/${'x'.repeat(3000)}`, { maxUrlLength: 5000 })).toBeNull();
    expect(
      checkTraps(`http://h${'/d'.repeat(0)}${Array.from({ length: 33 }, (_, i) => `/s${i}`).join('')}`),
    ).toMatch(/path depth 33 over 32/);
    expect(checkTraps('http://h/a/a/a/a/')).toBe('trap: segment "a" repeated 4 times in a row (max 3)');
    expect(checkTraps('http://h/bar/foo/bar/foo/bar/foo/bar/')).toBe(
      'trap: segment "bar" occurs 4 times (max 3)',
    );
    expect(checkTraps('http://h/x/1/x/2/x/3/')).toBeNull();
    expect(checkTraps('http://h/x/1/x/2/x/3/', { maxSegmentOccurrences: 2 })).toMatch(/"x" occurs 3 times/);
  });
  it('looks only at the path', () => {
    expect(pathSegments('http://h:8080//a//b/?q=/a/a/a/a#/a/a/a/a')).toEqual(['a', 'b']);
    expect(pathSegments('http://h')).toEqual([]);
    expect(checkTraps('http://h/p?x=/a/a/a/a/a')).toBeNull();
  });
});
