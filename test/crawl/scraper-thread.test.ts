import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EnqueuedRequest } from '../../src/crawl/parse/enqueue.js';
import {
  createParser,
  type ParseConfig,
  type ParseJob,
  type ParseOutput,
} from '../../src/crawl/parse/parse-job.js';
import { ParseThread } from '../../src/crawl/parse/parse-thread.js';

const SCRAPER = resolve('test/fixtures/scrapers/basic.ts');
const ORIGIN = 'http://127.0.0.1:8080';
const CONFIG: ParseConfig = {
  stripParams: [],
  fields: ['h1=h1'],
  scope: { seeds: [`${ORIGIN}/`], mode: 'host' },
  traps: {},
  maxDepth: 3,
  keepHtml: false,
  scraper: SCRAPER,
};
const LIST = `<html><head><title>List</title></head><body>
  <a class="item" href="/p/1">one</a><a class="item" href="/p/2">two</a>
  <a class="next" href="?page=2">next</a><a href="/about">about</a></body></html>`;
const DETAIL = '<html><head><title>One</title></head><body><h1> Widget one </h1></body></html>';

function job(
  html: string,
  url: string,
  label: string | null,
  extra: Partial<ParseJob['page']> = {},
): ParseJob {
  return {
    body: new TextEncoder().encode(html),
    mime: 'text/html',
    charset: 'utf-8',
    url,
    depth: 1,
    page: {
      requestUrl: url,
      label,
      userData: {},
      method: 'GET',
      referrer: `${ORIGIN}/`,
      status: 200,
      headers: {},
      ...extra,
    },
  };
}

const threads: ParseThread[] = [];
afterEach(async () => {
  await Promise.all(threads.splice(0).map((t) => t.close()));
});

/** What every scraper page's output shares: the record fields. */
function expectRecordFields(out: ParseOutput, title: string) {
  expect(out.title).toBe(title);
}

/** What the page asks to follow, unpacked from `follow` (link indexes, or -k for requests[k-1]). */
function followed(out: ParseOutput): Partial<EnqueuedRequest>[] {
  const links = out.links.split('\n');
  return out.follow.map((f, i) => {
    const host = out.hosts[out.followHost[i]!];
    return f >= 0 ? { url: links[f], host } : { ...out.requests![-f - 1], host };
  });
}

describe('scraper handlers on a parse thread', () => {
  it('runs the scraper module in the thread: items, requests, record fields', async () => {
    const t = new ParseThread(CONFIG);
    threads.push(t);
    const list = await t.parse(job(LIST, `${ORIGIN}/list`, null));
    expectRecordFields(list, 'List');
    expect(list.links.split('\n')).toHaveLength(4);
    expect(list.items).toEqual([]);
    expect(followed(list)).toEqual([
      {
        url: `${ORIGIN}/p/1`,
        host: '127.0.0.1:8080',
        request: { label: 'DETAIL', userData: { from: 'list' } },
      },
      {
        url: `${ORIGIN}/p/2`,
        host: '127.0.0.1:8080',
        request: { label: 'DETAIL', userData: { from: 'list' } },
      },
      { url: `${ORIGIN}/list?page=2`, host: '127.0.0.1:8080' },
    ]);
    // Only the labelled ones travel as objects; the plain link is an index into `links`.
    expect(list.requests).toHaveLength(2);
    expect(list.follow[2]).toBeGreaterThanOrEqual(0);
    expect(list.handlerError).toBeNull();

    const detail = await t.parse(
      job(DETAIL, `${ORIGIN}/p/1/`, 'DETAIL', { requestUrl: `${ORIGIN}/p/1`, userData: { from: 'list' } }),
    );
    expectRecordFields(detail, 'One');
    expect(detail.fields).toEqual({ h1: 'Widget one' });
    expect(detail.items).toEqual([
      {
        name: 'Widget one',
        url: `${ORIGIN}/p/1/`,
        requested: `${ORIGIN}/p/1`,
        referrer: `${ORIGIN}/`,
        userData: { from: 'list' },
        loads: 1,
      },
    ]);
  });

  it('runs handlers concurrently and answers each job by id', async () => {
    const t = new ParseThread(CONFIG);
    threads.push(t);
    // WAIT finishes only after RELEASE ran in the same thread: sequential jobs would never end.
    const waiting = t.parse(job(DETAIL, `${ORIGIN}/w`, 'WAIT'));
    const releasing = t.parse(job(DETAIL, `${ORIGIN}/r`, 'RELEASE'));
    const [w, r] = await Promise.all([waiting, releasing]);
    expect(w.items).toEqual([{ waited: true }]);
    expect(r.items).toEqual([{ released: true }]);
  });

  it('reports handler errors in the output, retryable or not', async () => {
    const t = new ParseThread(CONFIG);
    threads.push(t);
    const thrown = await t.parse(job(DETAIL, `${ORIGIN}/t`, 'THROW'));
    expect([thrown.handlerError, thrown.handlerRetryable]).toEqual(['handler: boom', true]);
    const unknown = await t.parse(job(DETAIL, `${ORIGIN}/u`, 'NOPE'));
    expect([unknown.handlerError, unknown.handlerRetryable]).toEqual([
      'handler: no handler for label NOPE',
      false,
    ]);
    expectRecordFields(unknown, 'One');
  });

  it('survives a rejection the handler left unhandled', async () => {
    const t = new ParseThread(CONFIG);
    threads.push(t);
    const stray = await t.parse(job(DETAIL, `${ORIGIN}/s`, 'STRAY'));
    expect(stray.items).toEqual([{ stray: true }]);
    // The rejection is reported after the job; the thread must still be there for the next one.
    const next = await t.parse(job(DETAIL, `${ORIGIN}/after`, 'DETAIL'));
    expect(next.items).toMatchObject([{ name: 'Widget one' }]);
  });

  it('fails every job with the loader message when the scraper cannot be loaded', async () => {
    const missing = join(resolve('test/fixtures/scrapers'), 'missing.ts');
    const t = new ParseThread({ ...CONFIG, scraper: missing });
    threads.push(t);
    await expect(t.parse(job(DETAIL, `${ORIGIN}/a`, null))).rejects.toThrow(
      `scraper file not found: ${missing}`,
    );
    await expect(t.parse(job(DETAIL, `${ORIGIN}/b`, null))).rejects.toThrow(
      `scraper file not found: ${missing}`,
    );
  });
});

describe('createParser on the main thread (parsers 0)', () => {
  it('runs the same handlers, asynchronously', async () => {
    const parse = createParser(CONFIG);
    const out = await parse(job(DETAIL, `${ORIGIN}/p/2`, 'DETAIL'));
    expect(out.items).toMatchObject([{ name: 'Widget one', url: `${ORIGIN}/p/2` }]);
  });

  it('keeps a plain crawl synchronous, following links as before', () => {
    const parse = createParser({ ...CONFIG, scraper: null });
    const out = parse({ ...job(LIST, `${ORIGIN}/list`, null), page: undefined });
    expect(out).not.toBeInstanceOf(Promise);
    const plain = out as ParseOutput;
    expect(plain.follow).toEqual([0, 1, 2, 3]);
    expect([plain.items, plain.requests, plain.handlerError, plain.handlerRetryable]).toEqual([
      null,
      null,
      null,
      false,
    ]);
  });
});
