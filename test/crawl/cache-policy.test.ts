import { describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import {
  type CacheTimes,
  currentAge,
  dateValue,
  freshnessLifetime,
  isFresh,
  MAX_HEURISTIC_MS,
  mergeNotModified,
  parseCacheControl,
  parseHead,
  parseHttpDate,
  selectingValues,
  storable,
  validators,
  varyMatches,
  varyNames,
} from '../../src/crawl/fetch/cache-policy.js';

const T = Date.parse('Sun, 06 Nov 1994 08:49:37 GMT');
const S = 1000;
const H = 3600 * S;
const http = (ms: number) => new Date(ms).toUTCString();
/** Request sent and response received at T. */
const AT_T: CacheTimes = { requestTime: T, responseTime: T };

interface Spec {
  status?: number;
  headers?: [string, string][];
  body?: string;
  method?: string;
  requestHeaders?: [string, string][];
  truncated?: Exchange['truncated'];
}

function ex(spec: Spec = {}): Exchange {
  const status = spec.status ?? 200;
  const head = (first: string, fields: [string, string][]) =>
    Buffer.from(`${first}\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  const e: Exchange = {
    url: 'http://example.com/a',
    date: T,
    ip: '127.0.0.1',
    requestHead: head(`${spec.method ?? 'GET'} /a HTTP/1.1`, [
      ['host', 'example.com'],
      ...(spec.requestHeaders ?? []),
    ]),
    requestBody: null,
    responseHead: head(`HTTP/1.1 ${status} X`, spec.headers ?? []),
    status,
    responseBody: Buffer.from(spec.body ?? 'hello'),
  };
  if (spec.truncated !== undefined) e.truncated = spec.truncated;
  return e;
}

/** A 200 with `Date: T` and the given extra headers. */
const dated = (...headers: [string, string][]) => ex({ headers: [['Date', http(T)], ...headers] });

describe('parseHead', () => {
  it('lower-cases names, keeps repeated fields, unfolds, accepts bare LF and skips junk lines', () => {
    const h = parseHead(
      Buffer.from(
        'HTTP/1.1 200 OK\nCache-Control: a\r\ncache-control: b\r\nX-Long: one\r\n  two\r\nnocolon\r\n\r\n',
      ),
    );
    expect(h.startLine).toBe('HTTP/1.1 200 OK');
    expect(h.values.get('cache-control')).toEqual(['a', 'b']);
    expect(h.values.get('x-long')).toEqual(['one two']);
    expect(h.fields.map(([n]) => n)).toEqual(['Cache-Control', 'cache-control', 'X-Long']);
  });
});

describe('parseCacheControl', () => {
  it('splits directives across lines, lower-cases names, unquotes values, keeps duplicates', () => {
    const cc = parseCacheControl([
      'Max-Age="60", no-cache="Set-Cookie, X"',
      'private, max-age=5,, x="a\\"b"',
    ]);
    expect(cc.get('max-age')).toEqual(['60', '5']);
    expect(cc.get('no-cache')).toEqual(['Set-Cookie, X']);
    expect(cc.get('private')).toEqual([null]);
    expect(cc.get('x')).toEqual(['a"b']);
    expect([...cc.keys()]).toEqual(['max-age', 'no-cache', 'private', 'x']);
  });
});

describe('parseHttpDate', () => {
  it('reads the three HTTP-date forms and nothing else', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(T);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(T);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(T);
    for (const bad of ['0', '-1', '', 'tomorrow', '1994-11-06T08:49:37Z'])
      expect(parseHttpDate(bad)).toBeNull();
  });
});

describe('freshnessLifetime', () => {
  it('max-age, quoted or not; s-maxage ignored; max-age beats Expires', () => {
    expect(freshnessLifetime(dated(['Cache-Control', 'max-age=60']), T)).toBe(60 * S);
    expect(freshnessLifetime(dated(['Cache-Control', 'max-age="60"']), T)).toBe(60 * S);
    expect(freshnessLifetime(dated(['Cache-Control', 'max-age=0']), T)).toBe(0);
    expect(freshnessLifetime(dated(['Cache-Control', 's-maxage=60']), T)).toBe(0);
    const both = dated(['Cache-Control', 'max-age=10'], ['Expires', http(T + 100 * S)]);
    expect(freshnessLifetime(both, T)).toBe(10 * S);
    expect(freshnessLifetime(dated(['Cache-Control', 'max-age=99999999999']), T)).toBe(2 ** 31 * S);
  });

  it('an invalid or conflicting max-age is stale (and Expires is not consulted)', () => {
    for (const cc of [
      'max-age=abc',
      'max-age=-1',
      'max-age=1.5',
      'max-age',
      'max-age=',
      'max-age=60, max-age=120',
    ]) {
      expect(freshnessLifetime(dated(['Cache-Control', cc], ['Expires', http(T + 100 * S)]), T), cc).toBe(0);
    }
    // The same value twice is no conflict.
    expect(
      freshnessLifetime(dated(['Cache-Control', 'max-age=60'], ['Cache-Control', 'max-age=60']), T),
    ).toBe(60 * S);
  });

  it('Expires − Date; an invalid, past or conflicting Expires is stale', () => {
    expect(freshnessLifetime(dated(['Expires', http(T + 100 * S)]), T)).toBe(100 * S);
    expect(freshnessLifetime(dated(['Expires', '0']), T)).toBe(0);
    expect(freshnessLifetime(dated(['Expires', 'soon']), T)).toBe(0);
    expect(freshnessLifetime(dated(['Expires', http(T - 100 * S)]), T)).toBe(0);
    expect(freshnessLifetime(dated(['Expires', http(T + 100 * S)], ['Expires', http(T + 200 * S)]), T)).toBe(
      0,
    );
  });

  it('without a (valid) Date, Expires counts from the response time', () => {
    const e = ex({ headers: [['Expires', http(T + 100 * S)]] });
    expect(dateValue(e, T + 40 * S)).toBe(T + 40 * S);
    expect(freshnessLifetime(e, T + 40 * S)).toBe(60 * S);
    const bad = ex({
      headers: [
        ['Date', 'yesterday'],
        ['Expires', http(T + 100 * S)],
      ],
    });
    expect(freshnessLifetime(bad, T + 40 * S)).toBe(60 * S);
  });

  it('heuristic: 10 % of Date − Last-Modified, capped, only for heuristic statuses or public', () => {
    const lm = (ago: number, status = 200, ...more: [string, string][]) =>
      ex({ status, headers: [['Date', http(T)], ['Last-Modified', http(T - ago)], ...more] });
    expect(freshnessLifetime(lm(5 * H), T)).toBe(30 * 60 * S);
    expect(freshnessLifetime(lm(30 * 24 * H), T)).toBe(MAX_HEURISTIC_MS);
    expect(freshnessLifetime(lm(5 * H, 404), T)).toBe(30 * 60 * S);
    expect(freshnessLifetime(lm(5 * H, 500), T)).toBe(0);
    expect(freshnessLifetime(lm(5 * H, 302), T)).toBe(0);
    expect(freshnessLifetime(lm(5 * H, 302, ['Cache-Control', 'public']), T)).toBe(30 * 60 * S);
    expect(freshnessLifetime(lm(-5 * H), T)).toBe(0); // Last-Modified after Date
    expect(freshnessLifetime(lm(5 * H, 200, ['Expires', http(T + S)]), T)).toBe(S); // explicit wins
    expect(freshnessLifetime(dated(), T)).toBe(0); // no Last-Modified
  });
});

describe('currentAge and isFresh', () => {
  it('max-age=60: fresh until the age reaches 60 s, stale at exactly 60 s', () => {
    const e = dated(['Cache-Control', 'max-age=60']);
    expect(isFresh(e, AT_T, T)).toBe(true);
    expect(isFresh(e, AT_T, T + 60 * S - 1)).toBe(true);
    expect(isFresh(e, AT_T, T + 60 * S)).toBe(false);
    expect(isFresh(dated(['Cache-Control', 'max-age=0']), AT_T, T)).toBe(false);
  });

  it('counts the Age field, the response delay and the apparent age', () => {
    const aged = dated(['Cache-Control', 'max-age=60'], ['Age', '30']);
    expect(currentAge(aged, AT_T, T)).toBe(30 * S);
    expect(isFresh(aged, AT_T, T + 30 * S - 1)).toBe(true);
    expect(isFresh(aged, AT_T, T + 30 * S)).toBe(false);
    // Age 30 + a 2 s round trip = 32 s, more than the apparent 1 s.
    expect(currentAge(aged, { requestTime: T - S, responseTime: T + S }, T + S)).toBe(32 * S);
    // The server's clock says the response is 50 s old on arrival: the apparent age wins.
    expect(currentAge(dated(), { requestTime: T + 50 * S, responseTime: T + 50 * S }, T + 60 * S)).toBe(
      60 * S,
    );
    // An invalid Age counts as 0; a clock stepped back counts as no resident time.
    expect(currentAge(dated(['Age', 'old']), AT_T, T + 5 * S)).toBe(5 * S);
    expect(currentAge(dated(), AT_T, T - 5 * S)).toBe(0);
  });

  it('without Date the age counts from the response time', () => {
    const e = ex({ headers: [['Cache-Control', 'max-age=60']] });
    const times = { requestTime: T + 10 * S, responseTime: T + 10 * S };
    expect(currentAge(e, times, T + 20 * S)).toBe(10 * S);
    expect(isFresh(e, times, T + 70 * S - 1)).toBe(true);
    expect(isFresh(e, times, T + 70 * S)).toBe(false);
  });

  it('no-cache is never fresh; must-revalidate is fresh within its lifetime only', () => {
    expect(isFresh(dated(['Cache-Control', 'max-age=600, no-cache']), AT_T, T)).toBe(false);
    expect(isFresh(dated(['Cache-Control', 'no-cache="Set-Cookie", max-age=600']), AT_T, T)).toBe(false);
    const mr = dated(['Cache-Control', 'max-age=60, must-revalidate']);
    expect(isFresh(mr, AT_T, T + 59 * S)).toBe(true);
    expect(isFresh(mr, AT_T, T + 60 * S)).toBe(false);
  });
});

describe('storable', () => {
  it('stores GET/HEAD final responses that are explicitly or heuristically cacheable', () => {
    expect(storable(dated())).toBe(true);
    expect(storable(ex({ method: 'HEAD' }))).toBe(true);
    expect(storable(ex({ status: 404 }))).toBe(true);
    expect(storable(ex({ status: 500 }))).toBe(false);
    expect(storable(ex({ status: 500, headers: [['Cache-Control', 'max-age=5']] }))).toBe(true);
    expect(storable(ex({ status: 302 }))).toBe(false);
    expect(storable(ex({ status: 302, headers: [['Expires', http(T)]] }))).toBe(true);
    expect(storable(ex({ status: 302, headers: [['Cache-Control', 'private']] }))).toBe(true);
  });

  it('refuses no-store (response or request), POST, 1xx/206/304 and truncated bodies', () => {
    expect(storable(ex({ headers: [['Cache-Control', 'max-age=60, No-Store']] }))).toBe(false);
    expect(storable(ex({ requestHeaders: [['Cache-Control', 'no-store']] }))).toBe(false);
    expect(storable(ex({ method: 'POST', headers: [['Cache-Control', 'max-age=60']] }))).toBe(false);
    for (const status of [101, 206, 304]) expect(storable(ex({ status }))).toBe(false);
    expect(storable(ex({ truncated: 'length' }))).toBe(false);
  });
});

describe('validators', () => {
  it('gives If-None-Match from ETag and If-Modified-Since from Last-Modified', () => {
    const lm = http(T - H);
    expect(validators(dated(['ETag', '"v1"'], ['Last-Modified', lm]))).toEqual({
      'If-None-Match': '"v1"',
      'If-Modified-Since': lm,
    });
    expect(validators(dated(['etag', 'W/"x"']))).toEqual({ 'If-None-Match': 'W/"x"' });
    expect(validators(dated(['Last-Modified', 'last week']))).toEqual({});
    expect(validators(dated(['ETag', '"a"'], ['ETag', '"b"']))).toEqual({});
    expect(validators(dated())).toEqual({});
  });
});

describe('mergeNotModified', () => {
  const stored = ex({
    body: 'the body',
    headers: [
      ['Date', http(T)],
      ['Content-Type', 'text/html'],
      ['Content-Length', '8'],
      ['Content-Encoding', 'identity'],
      ['Cache-Control', 'max-age=60'],
      ['Link', '</a>'],
      ['Link', '</b>'],
      ['ETag', '"v1"'],
      ['X-Kept', 'yes'],
    ],
  });
  const nm = (...headers: [string, string][]) => {
    const e = ex({ status: 304, headers, body: '' });
    return { ...e, date: T + 100 * S, ip: '10.0.0.1' };
  };

  it('updates the stored fields from the 304, keeps the body and the body-describing fields', () => {
    const merged = mergeNotModified(
      stored,
      nm(
        ['Date', http(T + 100 * S)],
        ['cache-control', 'max-age=300'],
        ['ETag', '"v1"'],
        ['Content-Length', '0'],
        ['Content-Encoding', 'gzip'],
        ['Link', '</c>'],
        ['Connection', 'X-Hop'],
        ['X-Hop', '1'],
        ['Keep-Alive', 'timeout=5'],
      ),
    );
    expect(merged).not.toBeNull();
    const m = merged as Exchange;
    expect(m.status).toBe(200);
    expect(m.responseBody.toString()).toBe('the body');
    expect(m.date).toBe(T + 100 * S);
    expect(m.ip).toBe('10.0.0.1');
    expect(m.requestHead).toBe(stored.requestHead);
    const h = parseHead(m.responseHead);
    expect(h.startLine).toBe('HTTP/1.1 200 X');
    expect(h.values.get('date')).toEqual([http(T + 100 * S)]);
    expect(h.values.get('cache-control')).toEqual(['max-age=300']);
    expect(h.values.get('content-length')).toEqual(['8']);
    expect(h.values.get('content-encoding')).toEqual(['identity']);
    expect(h.values.get('link')).toEqual(['</c>']);
    expect(h.values.get('x-kept')).toEqual(['yes']);
    for (const hop of ['connection', 'x-hop', 'keep-alive']) expect(h.values.has(hop)).toBe(false);
    expect(isFresh(m, { requestTime: T + 100 * S, responseTime: T + 100 * S }, T + 399 * S)).toBe(true);
    expect(m.responseHead.toString('latin1').endsWith('\r\n\r\n')).toBe(true);
  });

  it('drops the stored Date when the 304 has none (the age then counts from the revalidation)', () => {
    const m = mergeNotModified(stored, nm(['ETag', '"v1"'])) as Exchange;
    expect(parseHead(m.responseHead).values.has('date')).toBe(false);
    expect(isFresh(m, { requestTime: T + H, responseTime: T + H }, T + H + 59 * S)).toBe(true);
  });

  it('refuses a 304 whose validators do not select the stored response', () => {
    expect(mergeNotModified(stored, nm(['ETag', '"v2"']))).toBeNull();
    expect(mergeNotModified(stored, nm(['ETag', 'W/"v1"']))).not.toBeNull(); // weak comparison
    const weakStored = ex({ headers: [['ETag', 'W/"v1"']] });
    expect(mergeNotModified(weakStored, nm(['ETag', '"v1"']))).toBeNull(); // strong needs strong
    const lmStored = ex({ headers: [['Last-Modified', http(T)]] });
    expect(mergeNotModified(lmStored, nm(['Last-Modified', http(T)]))).not.toBeNull();
    expect(mergeNotModified(lmStored, nm(['Last-Modified', http(T + S)]))).toBeNull();
    expect(mergeNotModified(lmStored, nm(['ETag', '"v1"']))).toBeNull();
    expect(mergeNotModified(lmStored, nm())).not.toBeNull();
  });

  it('throws a RangeError for a response that is not a 304', () => {
    expect(() => mergeNotModified(stored, ex())).toThrow(RangeError);
  });
});

describe('Vary', () => {
  it('lists the selecting headers; * wins', () => {
    expect(
      varyNames(dated(['Vary', 'Accept-Encoding, Accept-Language'], ['vary', 'accept-encoding'])),
    ).toEqual(['accept-encoding', 'accept-language']);
    expect(varyNames(dated(['Vary', 'Accept, *']))).toBe('*');
    expect(varyNames(dated())).toEqual([]);
  });

  it('matches normalized values case-insensitively by name; absent equals absent; * never matches', () => {
    const stored = selectingValues(['accept-encoding', 'cookie'], { 'Accept-Encoding': ' gzip ,  br ' });
    expect(stored).toEqual({ 'accept-encoding': 'gzip,br', cookie: null });
    expect(varyMatches(stored, { 'accept-encoding': 'gzip, br' })).toBe(true);
    expect(varyMatches(stored, { 'accept-encoding': 'gzip' })).toBe(false);
    expect(varyMatches(stored, { 'accept-encoding': 'gzip,br', Cookie: 'a=1' })).toBe(false);
    expect(varyMatches({}, { anything: 'x' })).toBe(true);
    expect(varyMatches('*', {})).toBe(false);
  });
});
