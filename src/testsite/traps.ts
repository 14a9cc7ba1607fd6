/**
 * Crawler traps for the test site, under `/trap/...`: each trap of
 * shared/conformance/crawler-traps.json that a crawler can meet over HTTP, built so that a naive
 * crawler never ends (every page links to new URLs forever) and trawl's guards have to end it.
 * Pages are generated from the URL alone (plus a counter for the per-request tokens), so the
 * traps cost no memory however far a crawler goes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeHtml } from './site.js';

/** One trap entry point: the crawler-traps.json id it reproduces and the path to start from. */
export interface TrapEntry {
  id: string;
  path: string;
}

/**
 * The entry points, one per trap (some traps have two forms). `infinite-hostnames` links to
 * `http://<token>.localhost:<port>/`, which only a crawler that leaves the seed's host follows.
 * `honeypot-disallowed-link` needs robots.txt to disallow `/trap/honeypot/secret/` (see
 * {@link TRAP_ROBOTS}).
 */
export const TRAP_ENTRIES: readonly TrapEntry[] = [
  { id: 'infinite-calendar', path: '/trap/calendar?date=2025-03-15' },
  { id: 'infinite-calendar', path: '/trap/calendar/2025/03/15' },
  { id: 'session-id-in-url', path: '/trap/session/0' },
  { id: 'repeated-path-segments', path: '/trap/rel/' },
  { id: 'redirect-loop', path: '/trap/redirect/self' },
  { id: 'redirect-loop', path: '/trap/redirect/grow?n=1' },
  { id: 'soft-404', path: '/trap/soft404/start' },
  { id: 'faceted-navigation', path: '/trap/facets' },
  { id: 'dynamic-per-request-urls', path: '/trap/dynamic' },
  { id: 'endless-pagination', path: '/trap/pages?page=1' },
  { id: 'endless-pagination', path: '/trap/list/page/1/' },
  { id: 'tracking-and-alias-parameters', path: '/trap/tracking/0' },
  { id: 'huge-or-endless-response', path: '/trap/endless' },
  { id: 'infinite-hostnames', path: '/trap/hosts' },
  { id: 'growing-url', path: '/trap/grow?q=start' },
  { id: 'honeypot-disallowed-link', path: '/trap/honeypot/' },
  // Not in crawler-traps.json by name; the "max path depth" guard's own trap.
  { id: 'deep-path', path: '/trap/deep/' },
];

/** A robots.txt for the test site that sets the honeypot (everything else allowed). */
export const TRAP_ROBOTS = 'User-agent: *\nDisallow: /trap/honeypot/secret/\nAllow: /\n';

/** Number of distinct pages behind the session-id and tracking traps (0 … N-1). */
export const TRAP_SESSION_PAGES = 20;

const HTML = 'text/html; charset=utf-8';

function page(res: ServerResponse, title: string, links: readonly string[], status = 200, extra = ''): void {
  const body = Buffer.from(
    `<!doctype html>\n<html><head><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>\n` +
      links.map((h) => `<a href="${escapeHtml(h)}">${escapeHtml(h.slice(0, 80))}</a>\n`).join('') +
      `${extra}</body></html>\n`,
  );
  res.writeHead(status, { 'content-type': HTML, 'content-length': body.length });
  res.end(body);
}

let counter = 0;
/** A fresh opaque token per call (per-request ids and session ids). */
function token(len: number): string {
  counter++;
  let s = '';
  let x = (counter * 2654435761) >>> 0;
  while (s.length < len) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + counter) >>> 0;
    s += x.toString(16).padStart(8, '0');
  }
  return s.slice(0, len);
}

function day(d: Date, delta: { d?: number; m?: number; y?: number }): string {
  const n = new Date(
    Date.UTC(
      d.getUTCFullYear() + (delta.y ?? 0),
      d.getUTCMonth() + (delta.m ?? 0),
      d.getUTCDate() + (delta.d ?? 0),
    ),
  );
  return n.toISOString().slice(0, 10);
}

/**
 * Serves `/trap/...`. `path` is the request path without query (session-id path parameters and
 * ASP.NET `(S(...))` segments still in it), `query` the raw query string without `?` ('' when
 * none). Returns false (nothing sent) when the path is not a trap, so the caller can 404.
 *
 * - `/trap/calendar?date=D` — a day page linking the previous/next day, month and year (query form);
 *   `/trap/calendar/Y/M/D` — linking the previous/next day (path form). Any date, forever.
 * - `/trap/session/<k>` — pages 0…19 (also under `;jsessionid=…`, `?PHPSESSID=…` and a
 *   `/(S(…))/` segment); every link carries a fresh session id in one of those forms.
 * - `/trap/rel/…` — any depth answers 200 with relative links `a/` and `foo/bar/`.
 * - `/trap/soft404/…` — any path answers 200 "Page not found" with relative links `x/`, `y/`.
 * - `/trap/redirect/self` → 301 to itself; `/trap/redirect/grow?n=N` → 302 to n=N+1, forever.
 * - `/trap/facets?…` — ten on/off facets and three sort orders, each link toggles one, in the
 *   order the facets were clicked (so permutations alias too).
 * - `/trap/dynamic?t=…` — three links with fresh `t` tokens on every response.
 * - `/trap/pages?page=N`, `/trap/list/page/N/` — "next" and "previous" pages for any N.
 * - `/trap/tracking/<k>` — pages 0…19 whose links carry fresh `utm_*` parameters.
 * - `/trap/endless` — a chunked HTML body that never ends.
 * - `/trap/hosts` — links to fresh subdomains of `localhost` on this port.
 * - `/trap/grow?q=…` — links to itself with one more 60-character `q` parameter.
 * - `/trap/honeypot/` — a hidden link into `/trap/honeypot/secret/`, which links on forever.
 * - `/trap/deep/…` — each page links one segment deeper (`d1/d2/d3/…`).
 */
export function serveTrap(req: IncomingMessage, res: ServerResponse, path: string, query: string): boolean {
  const params = new URLSearchParams(query);
  // Session ids in the path are routed as if absent (that is what makes them a trap).
  const clean = path
    .replace(/;jsessionid=[^/;]*/gi, '')
    .replace(/\/\((?:[A-Za-z]\([^()/]*\))+\)(?=\/|$)/g, '');
  const parts = clean.split('/').slice(2); // ['', 'trap', ...]
  const kind = parts[0];
  switch (kind) {
    case 'calendar': {
      if (parts.length === 1) {
        const d = new Date(`${params.get('date') ?? '2025-03-15'}T00:00:00Z`);
        if (Number.isNaN(d.getTime())) return false;
        const links = [{ d: -1 }, { d: 1 }, { m: -1 }, { m: 1 }, { y: -1 }, { y: 1 }].map(
          (delta) => `/trap/calendar?date=${day(d, delta)}`,
        );
        page(res, `Calendar ${d.toISOString().slice(0, 10)}`, links);
        return true;
      }
      const [, y, m, dd] = parts;
      const d = new Date(Date.UTC(Number(y), Number(m) - 1, Number(dd)));
      if (Number.isNaN(d.getTime())) return false;
      const fmt = (s: string): string => `/trap/calendar/${s.replaceAll('-', '/')}`;
      page(res, `Day ${d.toISOString().slice(0, 10)}`, [fmt(day(d, { d: -1 })), fmt(day(d, { d: 1 }))]);
      return true;
    }
    case 'session': {
      const k = Number(parts[1]);
      if (!(Number.isInteger(k) && k >= 0 && k < TRAP_SESSION_PAGES)) return false;
      const links: string[] = [];
      for (let j = 0; j < TRAP_SESSION_PAGES; j++) {
        const form = (j + counter) % 3;
        if (form === 0) links.push(`/trap/session/${j};jsessionid=${token(32).toUpperCase()}`);
        else if (form === 1) links.push(`/trap/session/${j}?PHPSESSID=${token(32)}`);
        else links.push(`/trap/session/(S(${token(24)}))/${j}`);
      }
      page(res, `Session page ${k}`, links);
      return true;
    }
    case 'rel':
      page(res, `Relative ${clean}`, ['a/', 'foo/bar/']);
      return true;
    case 'soft404':
      page(res, 'Page not found', ['x/', 'y/']);
      return true;
    case 'redirect': {
      let location: string;
      if (parts[1] === 'self') location = '/trap/redirect/self';
      else if (parts[1] === 'grow') location = `/trap/redirect/grow?n=${Number(params.get('n') ?? 1) + 1}`;
      else return false;
      const body = Buffer.from('moved');
      res.writeHead(parts[1] === 'self' ? 301 : 302, {
        location,
        'content-type': 'text/plain',
        'content-length': body.length,
      });
      res.end(body);
      return true;
    }
    case 'facets': {
      const on = (params.get('f') ?? '').split(',').filter((s) => /^f\d$/.test(s));
      const sort = params.get('sort') ?? 'price';
      const links: string[] = [];
      for (let i = 0; i < 10; i++) {
        const f = `f${i}`;
        const next = on.includes(f) ? on.filter((x) => x !== f) : [...on, f];
        links.push(`/trap/facets?f=${next.join(',')}&sort=${sort}`);
      }
      for (const s of ['price', 'name', 'date']) links.push(`/trap/facets?sort=${s}&f=${on.join(',')}`);
      page(res, `Hotels (${on.length} filters)`, links);
      return true;
    }
    case 'dynamic':
      page(
        res,
        'Feed',
        [1, 2, 3].map(() => `/trap/dynamic?t=${token(12)}`),
      );
      return true;
    case 'pages': {
      const n = Number(params.get('page') ?? 1);
      if (!Number.isInteger(n)) return false;
      page(res, `Archive page ${n}`, [`/trap/pages?page=${n + 1}`, `/trap/pages?page=${n - 1}`]);
      return true;
    }
    case 'list': {
      const n = Number(parts[2]);
      if (parts[1] !== 'page' || !Number.isInteger(n)) return false;
      page(res, `List page ${n}`, [`/trap/list/page/${n + 1}/`, `/trap/list/page/${n - 1}/`]);
      return true;
    }
    case 'tracking': {
      const k = Number(parts[1]);
      if (!(Number.isInteger(k) && k >= 0 && k < TRAP_SESSION_PAGES)) return false;
      const links: string[] = [];
      for (let j = 0; j < TRAP_SESSION_PAGES; j++) {
        links.push(`/trap/tracking/${j}?utm_source=${token(8)}&utm_medium=link&fbclid=${token(16)}`);
      }
      page(res, `Tracked page ${k}`, links);
      return true;
    }
    case 'endless': {
      res.writeHead(200, { 'content-type': HTML });
      res.write('<!doctype html><html><head><title>Endless</title></head><body>');
      const chunk = Buffer.from(`<p>${'endless '.repeat(8000)}</p>\n`);
      const pump = (): void => {
        while (!res.destroyed) {
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      pump();
      return true;
    }
    case 'hosts': {
      const port = req.socket.localPort;
      page(
        res,
        'Wildcard hosts',
        [1, 2, 3, 4].map(() => `http://${token(8)}.localhost:${port}/trap/hosts`),
      );
      return true;
    }
    case 'grow': {
      const piece = `q=${token(58)}`;
      page(res, 'Growing', [`/trap/grow?${query === '' ? '' : `${query}&`}${piece}`]);
      return true;
    }
    case 'honeypot':
      if (parts[1] === 'secret') {
        page(res, 'Caught', [`/trap/honeypot/secret/${token(8)}`]);
        return true;
      }
      if (parts.length > 2 || (parts[1] ?? '') !== '') return false;
      page(
        res,
        'Honeypot',
        [],
        200,
        '<a href="/trap/honeypot/secret/" style="display:none">do not follow</a>\n',
      );
      return true;
    case 'deep': {
      const depth = parts.filter((p) => p !== '').length - 1;
      page(res, `Deep ${depth}`, [`d${depth + 1}/`]);
      return true;
    }
    default:
      return false;
  }
}
