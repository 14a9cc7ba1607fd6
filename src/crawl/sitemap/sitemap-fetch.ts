import type { Dispatcher } from 'undici';
import type { Weighted } from '../../conc/semaphore.js';
import type { Exchange } from '../exchange.js';
import { WireTap } from '../fetch/wire-tap.js';
import type { SitemapFetch } from './sitemap.js';

export interface SitemapFetchOptions {
  agent: Dispatcher;
  userAgent: string;
  timeoutMs: number;
  /** The crawl's connection cap: a sitemap download holds one connection while it streams. */
  connections: Weighted;
  /** The crawl's global rate limit: each sitemap request takes a token. */
  limiter: { wait(signal?: AbortSignal): Promise<void> };
  /** Refuses redirect hops (scope, private addresses); null follows. */
  checkRedirect: (url: string) => string | null;
  signal: AbortSignal;
  /**
   * Called with each request of a sitemap (a redirect hop, or the sitemap once read to its end or
   * abandoned) as it crossed the wire, for WARC. Default none (and nothing is kept).
   */
  onExchange?: (exchange: Exchange) => void;
}

const MAX_HOPS = 5;

/**
 * A {@link SitemapFetch} for the crawl: streams the body (a 50 MB sitemap never sits whole in
 * memory), follows up to 5 redirects that `checkRedirect` allows, and holds one connection of the
 * crawl's cap for as long as the body is being read. A non-2xx status is an error. With
 * `onExchange` each request is also kept as it crossed the wire (the whole sitemap body, so up to
 * its 50 MB, until it is handed over).
 */
export function sitemapFetcher(o: SitemapFetchOptions): SitemapFetch {
  return async (start) => {
    let url = start;
    for (let hop = 0; ; hop++) {
      await o.limiter.wait(o.signal);
      await o.connections.acquire(1, o.signal);
      let held = true;
      const release = () => {
        if (held) o.connections.release(1);
        held = false;
      };
      try {
        const u = new URL(url);
        const tap = o.onExchange === undefined ? null : new WireTap(o.agent);
        const hopUrl = url;
        const keep = (): void => {
          const ex = tap?.take(hopUrl, 'GET', null, 'length') ?? null;
          if (ex !== null) o.onExchange?.(ex);
        };
        const res = await (tap?.dispatcher ?? o.agent).request({
          origin: u.origin,
          path: `${u.pathname}${u.search}`,
          method: 'GET',
          headers: { 'user-agent': o.userAgent, accept: 'application/xml,text/xml,text/plain,*/*' },
          signal: o.signal,
          headersTimeout: o.timeoutMs,
          bodyTimeout: o.timeoutMs,
        });
        const location = res.headers.location;
        if (res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
          await res.body.dump();
          keep();
          release();
          const next = new URL(location, url).href;
          const refused = o.checkRedirect(next);
          if (refused) throw new Error(`redirect to ${next} refused: ${refused}`);
          if (hop + 1 >= MAX_HOPS) throw new Error(`more than ${MAX_HOPS} redirects`);
          url = next;
          continue;
        }
        if (res.statusCode < 200 || res.statusCode >= 300) {
          await res.body.dump();
          keep();
          throw new Error(`HTTP ${res.statusCode}`);
        }
        const body = res.body;
        return (async function* () {
          try {
            for await (const chunk of body) yield chunk as Uint8Array;
          } finally {
            body.destroy();
            keep();
            release();
          }
        })();
      } catch (err) {
        release();
        throw err;
      }
    }
  };
}
