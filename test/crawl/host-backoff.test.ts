import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { type HostPolicy, type HostPoliteness, HostTable } from '../../src/crawl/politeness/host-table.js';

const policy: HostPolicy = {
  rate: Number.POSITIVE_INFINITY,
  burst: 1000,
  concurrency: 64,
  maxPages: Number.POSITIVE_INFINITY,
  maxBackoffMs: 300_000,
};

function setup(p: HostPolicy = policy) {
  const clock = new FakeClock(1_000_000);
  const table = new HostTable(p, clock);
  const s = table.get('h.test', 'ok');
  /** Admits requests while ready() allows, up to `max`; returns their send times. */
  const admit = (max = Number.POSITIVE_INFINITY): number[] => {
    const sent: number[] = [];
    while (sent.length < max && table.ready(s, clock.now())) {
      table.take(s, clock.now());
      sent.push(clock.now());
    }
    return sent;
  };
  return { clock, table, s, admit };
}

/** One response of a request sent at `sentAt`: 503 or success, then its slot is given back. */
function answer(
  table: HostTable,
  s: HostPoliteness,
  sentAt: number,
  status: 200 | 503,
  retryAfterMs: number | null = null,
) {
  let wait = 0;
  if (status === 503) wait = table.throttle(s, retryAfterMs, sentAt);
  else table.succeeded(s, sentAt);
  table.finish(s, status === 200);
  return wait;
}

describe('HostTable: one overloaded burst is one backoff event', () => {
  it('56 503s of requests sent before the first 503 arrived raise the level once and pause once', () => {
    const { clock, table, s, admit } = setup();
    const sent = admit();
    expect(sent).toHaveLength(64);
    clock.advance(20); // the first answers arrive
    const waits = sent.slice(0, 56).map((t) => {
      const w = answer(table, s, t, 503);
      clock.advance(1);
      return w;
    });
    expect(s.backoffLevel).toBe(1);
    expect(waits[0]).toBe(1000);
    // Later 503s of the same burst wait out the same pause, not a longer one.
    expect(s.pausedUntil).toBe(1_000_020 + 1000);
    expect(waits[55]).toBe(1000 - 55);
    expect(s.concurrencyCap).toBe(32);
    // The burst's 8 successes were sent before the event: they say nothing about the host now.
    for (const t of sent.slice(56)) answer(table, s, t, 200);
    expect(s.backoffLevel).toBe(1);
    expect(s.concurrencyCap).toBe(32);
  });

  it('honours a longer Retry-After from the same burst, and never shortens the pause', () => {
    const { clock, table, s, admit } = setup();
    const [a, b, c] = admit(3) as [number, number, number];
    clock.advance(10);
    expect(answer(table, s, a, 503, 2000)).toBe(2000);
    expect(answer(table, s, b, 503, 500)).toBe(2000);
    expect(answer(table, s, c, 503, 5000)).toBe(5000);
    expect(s.backoffLevel).toBe(1);
    expect(s.pausedUntil).toBe(clock.now() + 5000);
  });

  it('after the pause admits at most the halved cap; a new overloaded burst is a new event', () => {
    const { clock, table, s, admit } = setup();
    const first = admit();
    clock.advance(5);
    for (const t of first) answer(table, s, t, 503);
    expect(admit()).toEqual([]); // paused
    clock.advance(999);
    expect(admit()).toEqual([]);
    clock.advance(1);
    const second = admit();
    expect(second).toHaveLength(32);
    clock.advance(5);
    for (const t of second) answer(table, s, t, 503);
    expect(s.backoffLevel).toBe(2);
    expect(s.concurrencyCap).toBe(16);
    expect(s.pausedUntil).toBe(clock.now() + 2000);
  });

  it('grows the cap back by one per round of successes, up to the policy, and ends the streak', () => {
    const { clock, table, s, admit } = setup({ ...policy, concurrency: 8 });
    const burst = admit();
    clock.advance(1);
    for (const t of burst) answer(table, s, t, 503);
    expect(s.concurrencyCap).toBe(4);
    clock.advance(1000);
    const caps: number[] = [];
    for (let round = 0; round < 6; round++) {
      const sent = admit();
      caps.push(sent.length);
      clock.advance(1);
      for (const t of sent) answer(table, s, t, 200);
    }
    // 4 successes → 5, 5 more → 6, ... capped at the policy's 8.
    expect(caps).toEqual([4, 5, 6, 7, 8, 8]);
    expect(s.backoffLevel).toBe(0);
    expect(s.concurrencyCap).toBe(8);
  });

  it('halves the cap down to 1, never below', () => {
    const { clock, table, s, admit } = setup({ ...policy, concurrency: 4 });
    for (let event = 0; event < 4; event++) {
      const sent = admit();
      clock.advance(1);
      for (const t of sent) answer(table, s, t, 503);
      clock.set(s.pausedUntil);
    }
    expect(s.concurrencyCap).toBe(1);
    expect(admit()).toHaveLength(1);
  });

  it('without sentAt, 503s that arrive while the host is paused count as the same event', () => {
    const { clock, table, s, admit } = setup();
    const sent = admit();
    clock.advance(1);
    for (const _ of sent) {
      table.throttle(s, null);
      table.finish(s, false);
    }
    expect(s.backoffLevel).toBe(1);
    expect(s.concurrencyCap).toBe(32);
    // A success arriving during the pause is from before it too: ignored.
    table.succeeded(s);
    expect(s.backoffLevel).toBe(1);
    clock.set(s.pausedUntil);
    table.take(s, clock.now());
    table.throttle(s, null);
    expect(s.backoffLevel).toBe(2);
  });

  it('caps the exponential pause at maxBackoffMs and uses backoffBaseMs', () => {
    const { clock, table, s } = setup({ ...policy, backoffBaseMs: 10, maxBackoffMs: 50 });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      waits.push(table.throttle(s, null, clock.now()));
      clock.set(s.pausedUntil);
    }
    expect(waits).toEqual([10, 20, 40, 50, 50]);
    expect(table.nextReadyAt(s, clock.now())).toBe(clock.now());
  });
});
