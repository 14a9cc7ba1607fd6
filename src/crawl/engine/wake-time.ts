import type { EngineContext } from './context.js';

/**
 * When an idle scheduler should look again at the latest, by time alone: the earliest of the
 * frontier's next due work, the ledger's next held retry, the next token or pause end of a host
 * that has work, and `now + 1000` (a poll for what only a shared frontier knows). Always after
 * `now`.
 *
 * A local frontier (Frontier.hostTimes) already knows when its hosts may go, so only the hosts
 * of held retries that are due are asked: the cost does not grow with the hosts of the crawl.
 * For a shared frontier every host is asked, as it asks `readyAt` afresh in every lease.
 */
export function nextWakeAt(ctx: EngineContext, now: number): number {
  let until = now + 1000;
  for (const due of [ctx.frontier.nextDueAt(), ctx.ledger.nextRetryAt()])
    if (due !== undefined) until = Math.min(until, Math.max(due, now + 1));
  const { hosts } = ctx;
  const asked =
    ctx.frontier.hostTimes === true
      ? Array.from(ctx.ledger.dueRetryHosts(), (h) => hosts.get(h))
      : hosts.all();
  for (const s of asked) {
    const at = hosts.nextReadyAt(s, now);
    if (at !== undefined && at > now) until = Math.min(until, at);
  }
  return until;
}
