import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadScraper } from '../../src/crawl/parse/load-scraper.js';
import { isDefinedScraper } from '../../src/crawl/parse/scraper.js';
import { UsageError } from '../../src/crawl/usage-error.js';

const FIXTURES = resolve('test/fixtures/scrapers');
const fixture = (name: string) => join(FIXTURES, name);
// Outside the repository: no package.json, no node_modules with trawl in them.
const outside = mkdtempSync(join(tmpdir(), 'trawl-scraper-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

/** The ScraperError message loadScraper throws for `file`. */
async function loadError(file: string): Promise<string> {
  const err = await loadScraper(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  expect((err as Error).name).toBe('ScraperError');
  const message = (err as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('loadScraper', () => {
  it('loads a .ts scraper that imports trawl and trawl/conc from a directory outside the repo', async () => {
    const file = join(outside, 'shop.ts');
    writeFileSync(
      file,
      `import { defineScraper, type HandlerContext } from 'trawl';
import { Channel } from 'trawl/conc';
const chan: string = typeof Channel;
export default defineScraper({
  start: ['https://shop.example/'],
  options: { rate: 5, depth: 10 },
  handlers: {
    default: async ({ enqueue }: HandlerContext) => { await enqueue({ selector: 'a', label: 'LIST' }); },
    LIST: ({ push }) => push({ chan }),
  },
});
`,
    );
    const loaded = await loadScraper(file);
    expect(loaded.file).toBe(file);
    expect(loaded.start).toEqual(['https://shop.example/']);
    expect(loaded.options).toEqual({ rate: 5, depth: 10 });
    expect(loaded.labels).toEqual(['default', 'LIST']);
    expect(typeof loaded.handlers.LIST).toBe('function');
  });

  it('loads a .mjs scraper outside the repo, and resolves a relative path against the cwd', async () => {
    const file = join(outside, 'plain.mjs');
    writeFileSync(
      file,
      `import { defineScraper } from 'trawl';\nexport default defineScraper({ handlers: { default: () => {} } });\n`,
    );
    const loaded = await loadScraper(file);
    expect(loaded).toMatchObject({ file, start: [], options: {}, labels: ['default'] });
    const relative = await loadScraper('test/fixtures/scrapers/basic.ts');
    expect(relative.file).toBe(fixture('basic.ts'));
    expect(relative.labels).toEqual(['default', 'DETAIL', 'WAIT', 'RELEASE', 'THROW', 'STRAY']);
  });

  it('imports a module once per thread: loading it again does not rerun its top-level code', async () => {
    const file = join(outside, 'counted.ts');
    writeFileSync(
      file,
      `import { defineScraper } from 'trawl';
const g = globalThis as { scraperLoads?: number };
g.scraperLoads = (g.scraperLoads ?? 0) + 1;
export default defineScraper({ handlers: { default: () => {} } });
`,
    );
    await loadScraper(file);
    await loadScraper(file);
    expect((globalThis as { scraperLoads?: number }).scraperLoads).toBe(1);
  });

  it('refuses a missing file', async () => {
    expect(await loadError(join(outside, 'nope.ts'))).toBe(
      `scraper file not found: ${join(outside, 'nope.ts')}`,
    );
    expect(await loadError(outside)).toBe(`scraper file not found: ${outside}`);
  });

  it('refuses an extension it cannot run', async () => {
    expect(await loadError(fixture('wrong-extension.txt'))).toBe(
      `scraper ${fixture('wrong-extension.txt')}: must be a .ts, .mts, .js or .mjs file`,
    );
  });

  it('names file:line of a syntax error in a .ts file', async () => {
    const file = join(outside, 'broken.ts');
    writeFileSync(file, `import { defineScraper } from 'trawl';\n\nconst broken = ;\n`);
    expect(await loadError(file)).toBe(`scraper ${file}: syntax error at ${file}:3: Unexpected ";"`);
  });

  it('names file:line of a syntax error in a .mjs file', async () => {
    const file = join(outside, 'broken.mjs');
    writeFileSync(file, `const a = 1;\nexport default {\n  handlers: { default: () => { return ) } },\n};\n`);
    expect(await loadError(file)).toBe(`scraper ${file}: syntax error at ${file}:3: Unexpected token ')'`);
  });

  it('refuses a default export that is not from defineScraper, or none', async () => {
    expect(await loadError(fixture('not-defined.ts'))).toBe(
      `scraper ${fixture('not-defined.ts')}: the default export is not a scraper (wrap it in defineScraper from 'trawl')`,
    );
    expect(await loadError(fixture('no-default.ts'))).toBe(
      `scraper ${fixture('no-default.ts')}: no default export (export default defineScraper({...}))`,
    );
  });

  it('refuses a handler that is not a function', async () => {
    expect(await loadError(fixture('handler-not-function.ts'))).toBe(
      `scraper ${fixture('handler-not-function.ts')}: defineScraper: handler "LIST" is not a function`,
    );
  });

  it('refuses an unknown option', async () => {
    expect(await loadError(fixture('unknown-option.ts'))).toBe(
      `scraper ${fixture('unknown-option.ts')}: unknown option "speed" in options`,
    );
  });

  it('refuses a start URL that is not http(s)', async () => {
    expect(await loadError(fixture('bad-start.ts'))).toBe(
      `scraper ${fixture('bad-start.ts')}: start URL "ftp://127.0.0.1/file" is not an http(s) URL`,
    );
  });

  it('reports a module that throws while loading', async () => {
    expect(await loadError(fixture('throws-on-load.mjs'))).toBe(
      `scraper ${fixture('throws-on-load.mjs')}: cannot load: cannot start: no API key`,
    );
  });

  it('brands what defineScraper returns so any copy of trawl recognises it', async () => {
    const { defineScraper } = await import('../../src/index.js');
    const def = defineScraper({ handlers: { default: () => {} } });
    expect(isDefinedScraper(def)).toBe(true);
    expect(Object.keys(def)).toEqual(['handlers']);
    expect(isDefinedScraper({ handlers: { default: () => {} } })).toBe(false);
    expect(() => defineScraper({ handlers: {} })).toThrow(
      'defineScraper: handlers is empty (a scraper needs at least a default handler)',
    );
    expect(() => defineScraper({ handlers: { default: () => {} }, login: 'yes' } as never)).toThrow(
      'defineScraper: login must be a function',
    );
    expect(() => defineScraper({ handler: {} } as never)).toThrow(
      'defineScraper: unknown key "handler" (expected start, options, handlers, login)',
    );
  });
});
