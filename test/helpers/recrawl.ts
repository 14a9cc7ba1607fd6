/** Shared checks of the recrawl tests (SQLite state and Redis alike). */
import { expect } from 'vitest';
import type { PageRecord } from '../../src/crawl/record.js';
import type { GenerationDiff } from '../../src/testsite/generations.js';

/** The page id of a test-site page URL (`/p/<id>`; the home page is 0). */
export function idOf(url: string): number {
  const m = /\/p\/(\d+)$/.exec(new URL(url).pathname);
  return m ? Number(m[1]) : 0;
}

/**
 * Checks that a recrawl pass's records say exactly what the site's generation `diff` changed:
 * the changed, gone and new page ids, and every other known page (of `pages`) unchanged.
 * Returns the number of unchanged pages.
 */
export function expectChanges(records: readonly PageRecord[], diff: GenerationDiff, pages: number): number {
  const byChange = (c: string) =>
    records
      .filter((r) => r.change === c)
      .map((r) => idOf(r.url))
      .sort((a, b) => a - b);
  expect(byChange('changed')).toEqual([...diff.changed]);
  expect(byChange('gone')).toEqual([...diff.gone404, ...diff.gone410].sort((a, b) => a - b));
  expect(byChange('new')).toEqual([...diff.added]);
  const unchanged = pages - diff.changed.length - diff.gone404.length - diff.gone410.length;
  expect(byChange('unchanged')).toHaveLength(unchanged);
  return unchanged;
}
