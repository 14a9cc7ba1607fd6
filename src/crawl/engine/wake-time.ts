import type { EngineContext } from './context.js';

/**
 * When an idle scheduler should look again at the latest, by time alone: the earliest of the
 * frontier's next delayed URL, the ledger's next held retry, any host's next token or pause end,
 * and `now + 1000` (a poll for what only a shared frontier knows). Always after `now`.
 */
export function nextWakeAt(ctx: EngineContext, now: number): number {
  let until = now + 1000;
  for (const due of [ctx.frontier.nextDueAt(), ctx.ledger.nextRetryAt()])
    if (due !== undefined) until = Math.min(until, Math.max(due, now + 1));
  for (const s of ctx.hosts.all()) {
    const at = ctx.hosts.nextReadyAt(s, now);
    if (at !== undefined && at > now) until = Math.min(until, at);
  }
  return until;
}
