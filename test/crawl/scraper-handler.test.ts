import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { extractPage } from '../../src/crawl/parse/extract.js';
import { createHandlerRunner, type HandlerResult } from '../../src/crawl/parse/handler-run.js';
import { cheerioStats } from '../../src/crawl/parse/lazy-cheerio.js';
import type { LoadedScraper } from '../../src/crawl/parse/load-scraper.js';
import type { ParseConfig, ParseJob, ScraperPage } from '../../src/crawl/parse/parse-job.js';
import type { Handler, HandlerContext } from '../../src/crawl/parse/scraper.js';
import { createScope } from '../../src/crawl/url/scope.js';

const PAGE = 'http://127.0.0.1:8080/list/page';
const CONFIG: ParseConfig = {
  stripParams: ['utm_*'],
  stripSessionIds: true,
  fields: [],
  scope: { seeds: ['http://127.0.0.1:8080/'], mode: 'host' },
  traps: { maxUrlLength: 2048, maxRepeatedSegments: 3, maxPathDepth: 32 },
  maxDepth: 3,
  keepHtml: false,
  scraper: 'inline',
};

/** Runs `handlers[label ?? 'default']` on `html` as the page at `url` (after redirects). */
async function run(
  handlers: Record<string, Handler>,
  html: string,
  opts: { url?: string; depth?: number; page?: Partial<ScraperPage>; baseHref?: string | null } = {},
): Promise<HandlerResult> {
  const scraper: LoadedScraper = {
    file: 'inline',
    start: [],
    options: {},
    handlers,
    labels: Object.keys(handlers),
  };
  const url = opts.url ?? PAGE;
  const job: ParseJob = {
    body: new Uint8Array(0),
    mime: 'text/html',
    charset: 'utf-8',
    url,
    depth: opts.depth ?? 0,
    page: {
      requestUrl: url,
      label: null,
      userData: {},
      method: 'GET',
      referrer: null,
      status: 200,
      headers: { 'content-type': 'text/html' },
      ...opts.page,
    },
  };
  return createHandlerRunner(scraper, CONFIG, createScope(CONFIG.scope))(job, html, opts.baseHref ?? null);
}

/** The requests `enqueue(input)` makes on `html` (and how many the call reported). */
async function enqueued(input: Parameters<HandlerContext['enqueue']>[0], html = '', opts = {}) {
  let count = -1;
  const r = await run(
    {
      default: async ({ enqueue }) => {
        count = await enqueue(input);
      },
      DETAIL: () => {},
    },
    html,
    opts,
  );
  expect(r.handlerError).toBeNull();
  return { count, requests: r.requests };
}

const sha16 = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);

describe('handler context', () => {
  it('gives request, response, html and a working cheerio $', async () => {
    let seen: unknown;
    const r = await run(
      {
        DETAIL: ({ request, response, html, $, push }) => {
          seen = { request, response, hasHtml: html.includes('<h1>') };
          push({
            h1: $('h1').text(),
            links: $('a').length,
            abs: $('a').prop('href'),
            derived: $('body').find('a').first().prop('href'),
            root: $.root().find('h1').length,
            html: $.html($('h1')),
          });
        },
      },
      '<html><body><h1>Widget</h1><a href="x/y">y</a></body></html>',
      {
        url: 'http://127.0.0.1:8080/final',
        depth: 2,
        page: {
          requestUrl: 'http://127.0.0.1:8080/start',
          key: 'POST http://127.0.0.1:8080/start abc',
          label: 'DETAIL',
          userData: { n: 1 },
          method: 'POST',
          referrer: 'http://127.0.0.1:8080/',
          status: 201,
        },
      },
    );
    expect(r).toEqual({
      items: [
        {
          h1: 'Widget',
          links: 1,
          abs: 'http://127.0.0.1:8080/x/y',
          derived: 'http://127.0.0.1:8080/x/y',
          root: 1,
          html: '<h1>Widget</h1>',
        },
      ],
      requests: [],
      handlerError: null,
      handlerRetryable: false,
      retireSession: null,
    });
    expect(seen).toEqual({
      request: {
        url: 'http://127.0.0.1:8080/start',
        label: 'DETAIL',
        userData: { n: 1 },
        depth: 2,
        referrer: 'http://127.0.0.1:8080/',
        method: 'POST',
        uniqueKey: 'POST http://127.0.0.1:8080/start abc',
      },
      response: { url: 'http://127.0.0.1:8080/final', status: 201, headers: { 'content-type': 'text/html' } },
      hasHtml: true,
    });
  });

  it('builds the cheerio document only when $ is used, once per page', async () => {
    const before = cheerioStats.loads;
    // Destructuring $ (as handlers usually do) is not using it.
    await run({ default: ({ $, push }) => void push({ has$: typeof $ }) }, '<h1>a</h1>');
    expect(cheerioStats.loads).toBe(before);
    await run({ default: ({ html, push }) => void push({ n: html.length }) }, '<h1>a</h1>');
    expect(cheerioStats.loads).toBe(before);
    await run(
      {
        default: async ({ $, enqueue, push }) => {
          push({ t: $('h1').text() });
          await enqueue({ selector: 'a' });
          push({ root: $.root().children().length });
        },
      },
      '<h1>a</h1><a href="/b">b</a>',
    );
    expect(cheerioStats.loads).toBe(before + 1);
  });

  it('gives the handler its session, and reports a retire() made while it ran', async () => {
    const cookie = {
      name: 'sid',
      value: 'abc',
      domain: '127.0.0.1',
      path: '/',
      secure: false,
      httpOnly: true,
      expires: null,
    };
    let late: (() => void) | undefined;
    const r = await run(
      {
        default: ({ session, push }) => {
          push({
            id: session?.id ?? null,
            cookies: session?.cookies.map((c) => `${c.name}=${c.value}`) ?? [],
          });
          session?.retire('blocked by a captcha');
          late = () => session?.retire('later');
        },
      },
      '<p>x</p>',
      { page: { session: { id: 's-1', cookies: [cookie] } } },
    );
    expect(r.items).toEqual([{ id: 's-1', cookies: ['sid=abc'] }]);
    expect(r.retireSession).toBe('blocked by a captcha');
    expect(() => late?.()).not.toThrow(); // after the handler settled: ignored
    const none = await run({ default: ({ session, push }) => void push({ s: session }) }, '<p>x</p>');
    expect(none.items).toEqual([{ s: null }]);
    expect(none.retireSession).toBeNull();
  });

  it('asks for the DOM in the extraction pass only for labels whose last page used $, and uses it', async () => {
    const uses = new Map<string, boolean>([
      ['default', true],
      ['LIST', false],
    ]);
    const scraper: LoadedScraper = {
      file: 'inline',
      start: [],
      options: {},
      labels: ['default', 'LIST'],
      handlers: {
        default: ({ $, push }) => void push({ h1: uses.get('default') ? $('h1').text() : null }),
        LIST: ({ $, push }) => void push({ h1: uses.get('LIST') ? $('h1').text() : null }),
      },
    };
    const runner = createHandlerRunner(scraper, CONFIG, createScope(CONFIG.scope));
    const job = (label: string | null): ParseJob => ({
      body: new Uint8Array(0),
      mime: 'text/html',
      charset: null,
      url: PAGE,
      depth: 0,
      page: {
        requestUrl: PAGE,
        label,
        userData: {},
        method: 'GET',
        referrer: null,
        status: 200,
        headers: {},
      },
    });
    const html = '<h1>Title</h1><a href="/x">x</a>';
    // What parse-job does: extract (building the DOM when the runner wants it), then run.
    const page = async (label: string | null) => {
      const j = job(label);
      const extracted = extractPage(html, PAGE, { document: runner.wantsDocument(j) });
      const before = cheerioStats.loads;
      const result = await runner(j, html, extracted.baseHref, undefined, extracted.document);
      return { eager: extracted.document !== undefined, loads: cheerioStats.loads - before, result };
    };
    // First default page: not known yet, so built lazily on first use.
    expect(await page(null)).toMatchObject({ eager: false, loads: 1, result: { items: [{ h1: 'Title' }] } });
    // Its label used $: the next one gets the DOM from the extraction pass, and $ reads it.
    expect(await page(null)).toMatchObject({ eager: true, loads: 1, result: { items: [{ h1: 'Title' }] } });
    // Labels learn separately: LIST never used $, so it is never built for it.
    expect(await page('LIST')).toMatchObject({ eager: false, loads: 0, result: { items: [{ h1: null }] } });
    expect(await page('LIST')).toMatchObject({ eager: false, loads: 0 });
    // A wrong guess costs one unused build, then the label goes back to lazy.
    uses.set('default', false);
    expect(await page(null)).toMatchObject({ eager: true, loads: 1, result: { items: [{ h1: null }] } });
    expect(await page(null)).toMatchObject({ eager: false, loads: 0 });
  });

  it('keeps each page its own document and base URL when handlers interleave in one thread', async () => {
    let step: () => void = () => {};
    const paused = new Promise<void>((r) => {
      step = r;
    });
    const handler: Handler = async ({ $, push, request }) => {
      const first = $('a').prop('href');
      if (request.label === 'A')
        await paused; // B builds its document meanwhile
      else step();
      push({ first, later: $('li').find('a').prop('href'), title: $('title').text(), all: $.root().text() });
    };
    const page = (n: string) => `<title>${n}</title><ul><li><a href="rel-${n}">x</a></li></ul>`;
    const [a, b] = await Promise.all([
      run({ A: handler }, page('a'), { url: 'http://127.0.0.1:8080/a/', page: { label: 'A' } }),
      run({ B: handler }, page('b'), { url: 'http://127.0.0.1:8080/b/', page: { label: 'B' } }),
    ]);
    expect(a.items).toEqual([
      {
        first: 'http://127.0.0.1:8080/a/rel-a',
        later: 'http://127.0.0.1:8080/a/rel-a',
        title: 'a',
        all: 'ax',
      },
    ]);
    expect(b.items).toEqual([
      {
        first: 'http://127.0.0.1:8080/b/rel-b',
        later: 'http://127.0.0.1:8080/b/rel-b',
        title: 'b',
        all: 'bx',
      },
    ]);
  });

  it('log writes one line to stderr, prefixed with the label and the URL', async () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await run({ LIST: ({ log }) => log.info('found %d items\nnext', 3) }, '', { page: { label: 'LIST' } });
      expect(write.mock.calls.map((c) => c[0])).toEqual([`info [LIST] ${PAGE}: found 3 items\\nnext\n`]);
    } finally {
      write.mockRestore();
    }
  });
});

describe('enqueue: URLs and filtering', () => {
  it('resolves selector matches against <base href>', async () => {
    const html = '<base href="/shop/"><a class="p" href="item?id=1">1</a><a class="p" href="/abs">2</a>';
    const { count, requests } = await enqueued({ selector: 'a.p' }, html, {
      baseHref: 'http://127.0.0.1:8080/shop/',
    });
    expect(count).toBe(2);
    expect(requests).toEqual([
      { url: 'http://127.0.0.1:8080/shop/item?id=1', host: '127.0.0.1:8080' },
      { url: 'http://127.0.0.1:8080/abs', host: '127.0.0.1:8080' },
    ]);
  });

  it('resolves against the response URL (after redirects) without <base>, also explicit URLs', async () => {
    const { requests } = await enqueued({ selector: 'a', urls: ['../up', 'same'] }, '<a href="next">n</a>', {
      url: 'http://127.0.0.1:8080/moved/here/',
      page: { requestUrl: 'http://127.0.0.1:8080/old' },
    });
    expect(requests.map((r) => r.url)).toEqual([
      'http://127.0.0.1:8080/moved/up',
      'http://127.0.0.1:8080/moved/here/same',
      'http://127.0.0.1:8080/moved/here/next',
    ]);
  });

  it('takes src when an element has no href, and skips mailto:, javascript: and bare anchors', async () => {
    const html =
      '<img class="x" src="/img.png"><a class="x" href="mailto:a@b.c">m</a>' +
      '<a class="x" href="javascript:void(0)">j</a><a class="x">none</a><a class="x" href="#top">t</a>';
    const { count, requests } = await enqueued({ selector: '.x' }, html);
    expect(requests.map((r) => r.url)).toEqual(['http://127.0.0.1:8080/img.png', PAGE]);
    expect(count).toBe(2);
  });

  it('normalizes like page links: fragment, stripParams, session ids', async () => {
    const { requests } = await enqueued([
      '/a?utm_source=x&id=2#frag',
      '/b;jsessionid=0123456789ABCDEF',
      'HTTP://127.0.0.1:8080/%7Ec',
    ]);
    expect(requests.map((r) => r.url)).toEqual([
      'http://127.0.0.1:8080/a?id=2',
      'http://127.0.0.1:8080/b',
      'http://127.0.0.1:8080/~c',
    ]);
  });

  it('drops out-of-scope and trap URLs silently, counting only what it accepted', async () => {
    const { count, requests } = await enqueued({
      urls: [
        'http://127.0.0.2:8080/other-host',
        'http://127.0.0.1:8080/a/a/a/a',
        `http://127.0.0.1:8080/${'x'.repeat(2100)}`,
        'http://127.0.0.1:8080/ok',
      ],
    });
    expect(count).toBe(1);
    expect(requests.map((r) => r.url)).toEqual(['http://127.0.0.1:8080/ok']);
  });

  it('follows nothing beyond the depth limit, silently', async () => {
    const atLimit = await enqueued({ url: '/deeper', label: 'DETAIL' }, '', { depth: 3 });
    expect(atLimit).toEqual({ count: 0, requests: [] });
    const below = await enqueued({ url: '/deeper' }, '', { depth: 2 });
    expect(below.count).toBe(1);
  });

  it('applies include and exclude patterns', async () => {
    const html = '<a href="/p/1">1</a><a href="/p/2?print=1">2</a><a href="/about">3</a>';
    const { requests } = await enqueued({ selector: 'a', include: '*/p/*', exclude: ['/print=/'] }, html);
    expect(requests.map((r) => r.url)).toEqual(['http://127.0.0.1:8080/p/1']);
  });

  it('counts each identity once per page (first one wins)', async () => {
    let counts: number[] = [];
    const r = await run(
      {
        default: async ({ enqueue }) => {
          counts = [
            await enqueue(['/x', '/x#again', '/y']),
            await enqueue({ url: '/x', label: 'DETAIL' }),
            await enqueue({ url: '/x', method: 'POST', body: 'a=1' }),
          ];
        },
        DETAIL: () => {},
      },
      '',
    );
    expect(counts).toEqual([2, 0, 1]);
    expect(r.requests.map((q) => q.key ?? q.url)).toEqual([
      'http://127.0.0.1:8080/x',
      'http://127.0.0.1:8080/y',
      `POST http://127.0.0.1:8080/x ${sha16('a=1')}`,
    ]);
  });
});

describe('enqueue: request identity and spec', () => {
  it('gives a plain GET no key and no spec; a labelled GET a spec but still no key', async () => {
    const { requests } = await enqueued({ url: '/a' });
    expect(requests).toEqual([{ url: 'http://127.0.0.1:8080/a', host: '127.0.0.1:8080' }]);
    const labelled = await enqueued({ url: '/b', label: 'DETAIL', userData: { n: 1 } });
    expect(labelled.requests).toEqual([
      {
        url: 'http://127.0.0.1:8080/b',
        host: '127.0.0.1:8080',
        request: { label: 'DETAIL', userData: { n: 1 } },
      },
    ]);
  });

  it('keys a POST by method, normalized URL and body hash (empty body hashes "")', async () => {
    const { requests } = await enqueued({
      url: '/search?utm_campaign=z&q=1',
      method: 'post',
      body: '{"q":"shoes"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(requests).toEqual([
      {
        url: 'http://127.0.0.1:8080/search?q=1',
        host: '127.0.0.1:8080',
        key: `POST http://127.0.0.1:8080/search?q=1 ${sha16('{"q":"shoes"}')}`,
        request: { method: 'POST', body: '{"q":"shoes"}', headers: { 'content-type': 'application/json' } },
      },
    ]);
    const empty = await enqueued({ url: '/ping', method: 'DELETE' });
    expect(empty.requests[0]!.key).toBe(`DELETE http://127.0.0.1:8080/ping ${sha16('')}`);
  });

  it('uses the given uniqueKey as the key, even for a GET', async () => {
    const { requests } = await enqueued({ urls: ['/a', '/b'], uniqueKey: 'sku-1' });
    // Same key: the second is the same request as far as this page is concerned.
    expect(requests).toEqual([{ url: 'http://127.0.0.1:8080/a', host: '127.0.0.1:8080', key: 'sku-1' }]);
  });
});

describe('handler errors', () => {
  const enqueueError = async (input: unknown) => {
    const r = await run(
      {
        default: async ({ enqueue, push }) => {
          push({ before: true });
          await enqueue(input as never);
        },
        DETAIL: () => {},
      },
      '',
    );
    expect(r.handlerRetryable).toBe(false);
    expect(r.items).toEqual([]);
    expect(r.requests).toEqual([]);
    return r.handlerError;
  };

  it('makes a misused enqueue a non-retryable handler error', async () => {
    expect(await enqueueError('http://[::1')).toBe('handler: enqueue: invalid URL "http://[::1"');
    expect(await enqueueError({ url: 'mailto:a@b.c' })).toBe(
      'handler: enqueue: not an http(s) URL: "mailto:a@b.c"',
    );
    expect(await enqueueError({ urls: ['/ok', 'ftp://127.0.0.1/f'] })).toBe(
      'handler: enqueue: not an http(s) URL: "ftp://127.0.0.1/f"',
    );
    expect(await enqueueError({ url: '/x', label: 'NOPE' })).toBe(
      'handler: enqueue: no handler for label "NOPE"',
    );
    expect(await enqueueError({ url: '/x', body: 'a=1' })).toBe(
      'handler: enqueue: a GET request cannot have a body',
    );
    expect(await enqueueError({ url: '/x', userData: { f: () => 1 } })).toBe(
      'handler: enqueue: userData: function at .f is not JSON',
    );
    expect(await enqueueError({ url: '/x', userData: { at: new Date(0) } })).toBe(
      'handler: enqueue: userData: a Date at .at is not a plain object (JSON data only)',
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(await enqueueError({ url: '/x', userData: cyclic })).toBe(
      'handler: enqueue: userData: a cycle at .self',
    );
    expect(await enqueueError({ href: '/x' })).toBe('handler: enqueue: unknown option "href"');
    expect(await enqueueError({ label: 'DETAIL' })).toBe(
      'handler: enqueue: give a URL, a list of URLs, or { url, urls or selector }',
    );
    expect(await enqueueError({ selector: 'a[' })).toMatch(/^handler: enqueue: invalid selector "a\[": /);
    expect(await enqueueError({ url: '/x', include: '/(/' })).toMatch(
      /^handler: enqueue: include: invalid pattern/,
    );
  });

  it('fails a handler that calls enqueue without awaiting it, too', async () => {
    const r = await run(
      {
        default: ({ enqueue }) => {
          void enqueue({ url: '/x', label: 'NOPE' });
        },
      },
      '',
    );
    expect(r.handlerError).toBe('handler: enqueue: no handler for label "NOPE"');
  });

  it('keeps pushed items in order and refuses what is not a plain object of JSON', async () => {
    const ok = await run(
      {
        default: ({ push }) => {
          push({ n: 1, nested: { list: [1, 'a', null, true] }, skipped: undefined });
          push({ n: 2 });
        },
      },
      '',
    );
    expect(ok.items).toEqual([
      { n: 1, nested: { list: [1, 'a', null, true] }, skipped: undefined },
      { n: 2 },
    ]);
    const bad = async (item: unknown) => {
      const r = await run({ default: ({ push }) => push(item as never) }, '');
      expect(r.handlerRetryable).toBe(false);
      return r.handlerError;
    };
    expect(await bad([1, 2])).toBe('handler: push: an item must be a plain object');
    expect(await bad('text')).toBe('handler: push: an item must be a plain object');
    expect(await bad({ price: Number.NaN })).toBe('handler: push: NaN at .price is not JSON');
    expect(await bad({ when: new Date(0) })).toBe(
      'handler: push: a Date at .when is not a plain object (JSON data only)',
    );
    expect(await bad({ big: 10n })).toBe('handler: push: bigint at .big is not JSON');
    expect(await bad({ list: [1, undefined] })).toBe('handler: push: undefined at .list[1] is not JSON');
  });

  it('makes a throw or rejection a retryable handler error and drops what the attempt pushed', async () => {
    const thrown = await run(
      {
        default: async ({ push, enqueue }) => {
          push({ partial: true });
          await enqueue('/next');
          throw new TypeError("Cannot read properties of undefined (reading 'text')\n    at stack");
        },
      },
      '',
    );
    expect(thrown).toEqual({
      items: [],
      requests: [],
      handlerError: "handler: Cannot read properties of undefined (reading 'text')",
      handlerRetryable: true,
      retireSession: null,
    });
    const rejected = await run({ default: () => Promise.reject('plain string') }, '');
    expect(rejected.handlerError).toBe('handler: plain string');
    expect(rejected.handlerRetryable).toBe(true);
  });

  it("enqueue given the link extraction's resolved links makes exactly the requests it makes without", async () => {
    const html = `<base href="/list/"><a href="a?utm_source=x">a</a><a href=" b ">b</a><a href="&#x2F;c#f">c</a>
      <a href="mailto:x@y">m</a><a href="http://other.example/x">o</a><a href="../d;jsessionid=1">d</a><a href="a?utm_source=x">again</a>`;
    const scraper: LoadedScraper = {
      file: 'inline',
      start: [],
      options: {},
      labels: ['default'],
      handlers: { default: ({ enqueue }) => void enqueue({ selector: 'a' }) },
    };
    const job: ParseJob = { body: new Uint8Array(0), mime: 'text/html', charset: null, url: PAGE, depth: 0 };
    const resolved = new Map<string, string | null>();
    const page = extractPage(html, PAGE, {
      normalize: { stripParams: CONFIG.stripParams, stripSessionIds: true },
      resolved,
    });
    expect(resolved.size).toBeGreaterThan(0);
    const runner = createHandlerRunner(scraper, CONFIG, createScope(CONFIG.scope));
    const plain = await runner(job, html, page.baseHref);
    const reused = await runner(job, html, page.baseHref, resolved);
    expect(reused).toEqual(plain);
    expect(plain.requests.map((r) => r.url)).toEqual([
      'http://127.0.0.1:8080/list/a',
      'http://127.0.0.1:8080/list/b',
      'http://127.0.0.1:8080/c',
      'http://127.0.0.1:8080/d',
    ]);
  });

  it('fails a handler that never settles after handlerTimeoutMs, retryably, and discards what it did', async () => {
    vi.useFakeTimers();
    try {
      const scraper: LoadedScraper = {
        file: 'inline',
        start: [],
        options: {},
        labels: ['default'],
        handlers: {
          default: ({ push }) => {
            push({ before: true });
            return new Promise<void>(() => {}); // never settles
          },
        },
      };
      const config = { ...CONFIG, handlerTimeoutMs: 5000 };
      const job: ParseJob = {
        body: new Uint8Array(0),
        mime: 'text/html',
        charset: null,
        url: PAGE,
        depth: 0,
      };
      const result = createHandlerRunner(scraper, config, createScope(config.scope))(job, '', null);
      let settled = false;
      void result.then(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(4999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await result).toEqual({
        items: [],
        requests: [],
        handlerError: 'handler: timed out after 5000 ms',
        handlerRetryable: true,
        retireSession: null,
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails a page whose label has no handler, not retryable', async () => {
    const r = await run({ default: () => {} }, '', { page: { label: 'PRODUCT' } });
    expect(r).toEqual({
      items: [],
      requests: [],
      handlerError: 'handler: no handler for label PRODUCT',
      handlerRetryable: false,
      retireSession: null,
    });
    const noDefault = await run({ PRODUCT: () => {} }, '');
    expect(noDefault.handlerError).toBe('handler: no handler for label default');
  });

  it('refuses enqueue and push after the handler finished', async () => {
    let late: HandlerContext | null = null;
    const r = await run(
      {
        default: (ctx) => {
          late = ctx;
        },
      },
      '',
    );
    expect(r.handlerError).toBeNull();
    expect(() => late!.push({ a: 1 })).toThrow('push called after the handler finished');
    expect(() => late!.enqueue('/x')).toThrow('enqueue called after the handler finished');
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});
