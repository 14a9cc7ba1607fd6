import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ownString } from '../../src/crawl/url/own-string.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap bytes held by one URL kept from each of `pages` link lists (20 links of ~40 chars each). */
function heldBy(keep: (s: string) => string, pages: number): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept: string[] = [];
  for (let p = 0; p < pages; p++) {
    const links: string[] = [];
    for (let j = 0; j < 20; j++) links.push(`http://127.0.0.1:8080/section/page-${j === 0 ? p : j}`);
    // One flat string, as a page's links arrive from a parse thread; the first link is new.
    const joined = JSON.parse(JSON.stringify(links.join('\n'))) as string;
    kept.push(keep(joined.split('\n')[0]!));
  }
  gc();
  const held = process.memoryUsage().heapUsed - before;
  expect(kept).toHaveLength(pages);
  return held;
}

describe('ownString', () => {
  it('returns an equal string', () => {
    for (const s of ['', 'a', 'http://127.0.0.1:8080/p/1', 'ü'.repeat(40)]) expect(ownString(s)).toBe(s);
  });

  it('does not keep the string it was split from alive (a slice does)', () => {
    const pages = 20_000;
    const slices = heldBy((s) => s, pages);
    const copies = heldBy(ownString, pages);
    // A slice keeps its page's ~900-byte list; a copy only its own ~40 characters (+ headers).
    expect(slices / pages).toBeGreaterThan(600);
    expect(copies / pages).toBeLessThan(200);
  });
});
