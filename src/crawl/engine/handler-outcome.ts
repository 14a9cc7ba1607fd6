import { decide } from '../fetch/retry.js';
import type { EngineContext } from './context.js';
import { retryPolicyOf } from './fetch-step.js';
import type { Identities } from './identities.js';
import type { Parsed } from './outcome.js';
import type { Rendering } from './rendering.js';

/**
 * Applies the retry policy to a page whose scraper handler failed (`page.handlerError` set): a
 * retryable failure with retries left becomes a 'retry' outcome (the page is fetched again and
 * the handler runs on the new response; the attempt counts against --retries like a failed
 * fetch); otherwise the page is stored with its fields but `error` = the handler's error, and
 * nothing the failed run pushed or enqueued is kept. Any other page passes through unchanged.
 * A handler that called `session.retire()` has its session retired in `ids` (whatever became of
 * the page). With `--render auto` (`rendering`), a handler that found nothing (no item, nothing
 * enqueued, no error) on a page fetched plain with GET has the page fetched again at once by the
 * browser and handled again — unless the page's host and label learned that plain is enough —
 * and what the handler finds on the rendered page teaches the learner.
 */
export function settleHandler(
  ctx: EngineContext,
  ids?: Identities,
  rendering?: Rendering | null,
): (p: Parsed) => Parsed {
  const policy = retryPolicyOf(ctx.options);
  const auto = rendering != null && ctx.options.render === 'auto' ? rendering : null;
  return (p) => {
    const page = p.page;
    const o = p.outcome;
    // `session.retire()` in the handler: later requests go out on the session's replacement.
    if (page?.retireSession && o.kind === 'fetched' && o.session !== undefined && ids !== undefined) {
      ids.sessions.retire(o.session, `handler: ${page.retireSession}`);
    }
    // --render auto: a handler that found nothing on a plain GET page gets the rendered page.
    if (
      auto !== null &&
      page !== null &&
      page.items !== null &&
      page.handlerError === null &&
      o.kind === 'fetched'
    ) {
      const found = page.items.length > 0 || page.follow.length > 0 || (page.requests?.length ?? 0) > 0;
      if (o.item.renderAgain) {
        auto.learnFromHandler(o.item, found);
      } else if (
        !found &&
        o.res.rendered !== true &&
        (o.item.request?.method ?? 'GET') === 'GET' &&
        auto.wantsAfterEmptyHandler(o.item)
      ) {
        // Fetched again now, by the browser; the plain attempt does not count against --retries.
        const item = { ...o.item, renderAgain: true as const };
        return {
          outcome: { kind: 'retry', item, host: o.host, at: ctx.clock.now() },
          page: null,
          parseError: null,
        };
      }
    }
    if (page === null || page.handlerError === null || o.kind !== 'fetched') return p;
    const decision = decide(
      { kind: 'handler', error: page.handlerError, retryable: page.handlerRetryable },
      o.attempts,
      ctx.clock.now(),
      policy,
    );
    if (decision.kind === 'retry') {
      ctx.metrics.retry(o.item.host, decision.reason);
      return {
        outcome: { kind: 'retry', item: { ...o.item, attempts: o.attempts }, host: o.host, at: decision.at },
        page: null,
        parseError: null,
      };
    }
    return {
      outcome: o,
      page: { ...page, follow: [], hosts: [], followHost: [], items: null, requests: null },
      parseError: page.handlerError,
    };
  };
}
