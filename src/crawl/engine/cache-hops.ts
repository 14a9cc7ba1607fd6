import type { HopStore } from '../fetch/fetch-page.js';
import type { HttpCache } from '../fetch/http-cache.js';

/**
 * The HTTP cache (--cache) as fetchPage's HopStore for one page: each hop is looked up before it
 * is sent (replayed when the cache's mode says it is fresh, revalidated with its validators when
 * stale), and every whole response that came from the network is stored. Cache times are wall
 * time (they meet HTTP dates), not the crawl's clock. A store that fails (a full disk) is not the
 * page's failure: the page is still good, only not cached, and `failedStores` counts it.
 */
export function cacheHops(cache: HttpCache, failed: { failedStores: number }): HopStore {
  return {
    lookup(method, url, body, headers) {
      const requestTime = Date.now();
      const found = cache.lookup(method, url, body, headers, requestTime);
      if (found.kind === 'miss') return null;
      if (found.kind === 'fresh') return { replay: found.exchange };
      return {
        conditional: found.conditional,
        merge: (notModified) => {
          try {
            return cache.revalidated(found.exchange, notModified, headers, requestTime, Date.now());
          } catch {
            failed.failedStores++;
            return null;
          }
        },
      };
    },
    save(exchange, headers) {
      try {
        cache.store(exchange, headers, exchange.date, Date.now());
      } catch {
        failed.failedStores++;
      }
    },
  };
}
