import type { EngineContext } from './context.js';
import { robotsUnreachable } from './fetch-step.js';
import type { FetchJob, Outcome } from './outcome.js';
import type { RobotsWiring } from './robots-wiring.js';

/**
 * Whether a leased URL may be requested now; if not, what it comes to without a request:
 * 'skipped' when its host's --max-pages-per-host is used up or robots.txt refuses it (the record
 * says which), and for a robots.txt that is unreachable a failed attempt of the page ('retry' by
 * the normal policy, then 'failed' with robots.txt's error). Null: send it to a fetch worker.
 */
export function refusal(ctx: EngineContext, robots: RobotsWiring, job: FetchJob): Outcome | null {
  const { item, host } = job;
  if (ctx.hosts.exhausted(host))
    return { ...job, kind: 'skipped', reason: 'skipped: max-pages-per-host reached' };
  const verdict = robots.verdict(item.host, item.url);
  if (verdict.kind === 'allow') return null;
  if (verdict.kind === 'deny') return { ...job, kind: 'skipped', reason: verdict.reason };
  return robotsUnreachable(ctx, job, verdict.error, verdict.retryable);
}
