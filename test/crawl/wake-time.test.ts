/**
 * When an idle scheduler looks again (engine/wake-time.ts): a local frontier knows when its hosts
 * may go, so the engine asks only the hosts of due held retries — not every host of the crawl —
 * and still wakes at the first host's time.
 */
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import type { EngineContext } from '../../src/crawl/engine/context.js';
import { Ledger } from '../../src/crawl/engine/ledger.js';
import { nextWakeAt } from '../../src/crawl/engine/wake-time.js';
import type { Frontier } from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import { HostTable } from '../../src/crawl/politeness/host-table.js';

const HOSTS = 10_000;

function setUp(frontier: Frontier) {
  const clock = new FakeClock(0);
  const hosts = new HostTable(
    { rate: 2, burst: 1, concurrency: 1, maxPages: Number.POSITIVE_INFINITY, maxBackoffMs: 60_000 },
    clock,
    (h) => frontier.wake(h),
  );
  const ledger = new Ledger(Number.POSITIVE_INFINITY);
  const items = [];
  for (let i = 0; i < HOSTS; i++) {
    const host = `h${i}.example`;
    items.push({ url: `http://${host}/`, host, depth: 0, referrer: null, attempts: 0 });
    hosts.setRobots(hosts.get(host), 'ok');
  }
  frontier.add(items);
  // Every host has spent its token, host i at i/100 ms (2/s: its next one 500 ms later).
  for (let i = 0; i < HOSTS; i++) hosts.take(hosts.get(`h${i}.example`), i / 100);
  for (let i = 0; i < HOSTS; i++) hosts.finish(hosts.get(`h${i}.example`), false);
  const asked = { n: 0 };
  const nextReadyAt = hosts.nextReadyAt.bind(hosts);
  hosts.nextReadyAt = (s, now) => {
    asked.n++;
    return nextReadyAt(s, now);
  };
  const ctx = { frontier, hosts, ledger, clock } as unknown as EngineContext;
  return { ctx, hosts, asked };
}

describe('nextWakeAt', () => {
  it('asks no host of a local frontier, and wakes at the first sleeper', () => {
    const frontier = new MemoryFrontier();
    const { ctx, hosts, asked } = setUp(frontier);
    const now = 100;
    const leased = frontier.lease(1, now, (h) => hosts.readyAt(hosts.get(h), now));
    expect(leased).toEqual([]); // every host asleep until its next token
    expect(nextWakeAt(ctx, now)).toBe(500); // host 0's
    expect(asked.n).toBe(0);
  });

  it('asks every host of a frontier that does not keep host times', () => {
    const frontier = new MemoryFrontier();
    const { ctx, asked } = setUp(frontier);
    const shared = new Proxy(frontier, {
      get: (t, p) => (p === 'hostTimes' ? undefined : Reflect.get(t, p, t)),
    }) as Frontier;
    (ctx as { frontier: Frontier }).frontier = shared;
    expect(nextWakeAt(ctx, 0)).toBe(1); // work is queued and due now
    expect(asked.n).toBe(HOSTS);
  });
});
