import { Limiter } from '../../conc/rate.js';
import type { EngineContext } from './context.js';
import type { Identities } from './identities.js';
import type { Rendering } from './rendering.js';

/**
 * Reports queue depths (the frontier's, and the given lengths of the queues in front of the
 * fetch, parse and store steps), in-flight work, open connections and limiter tokens to the
 * metrics (sampled every 250 ms and once at the end, not per page: cheap).
 */
export function sampleMetrics(
  ctx: EngineContext,
  fetch: number,
  parse: number,
  store: number,
  ids?: Identities,
  rendering?: Rendering | null,
): void {
  const m = ctx.metrics;
  const stats = ctx.frontier.stats();
  m.setQueueDepth('frontier', stats.queued);
  m.setQueueDepth('fetch', fetch);
  m.setQueueDepth('parse', parse);
  m.setQueueDepth('store', store);
  m.setInFlight(ctx.ledger.outstanding);
  m.setOpenConnections(ctx.agent.connections.open, ctx.options.maxConnections);
  if (ctx.limiter instanceof Limiter) m.setLimiterTokens(ctx.limiter.tokens());
  m.setFrontier(stats);
  if (ids !== undefined) {
    m.setIdentities({
      proxies: ids.proxyStats(),
      proxiesDown: ids.proxiesDown,
      sessions: { live: ids.sessions.size, created: ids.sessions.created, retired: ids.sessions.retired },
    });
  }
  if (rendering != null) {
    const r = rendering.stats();
    m.setBrowsers({ launches: r.launches, crashes: r.crashes, recycles: r.recycles, open: r.browsers });
  }
}
