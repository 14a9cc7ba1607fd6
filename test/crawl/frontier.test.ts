import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Completion,
  type FrontierItem,
  pausesHosts,
  requeuesFailed,
  schedulesHosts,
} from '../../src/crawl/frontier/frontier.js';
import { MemoryFrontier } from '../../src/crawl/frontier/memory-frontier.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
import { item, record } from '../helpers/frontier-items.js';
import { useScratch } from '../helpers/scratch.js';

const scratch = useScratch('trawl-frontier-');
const tmpState = () => path.join(scratch.dir(), 'crawl.state');

/** Both local frontiers answer synchronously (the interface also allows promises, for Redis). */
type LocalFrontier = MemoryFrontier | SqliteFrontier;

const open: Array<[string, () => LocalFrontier]> = [
  ['MemoryFrontier', () => new MemoryFrontier()],
  ['SqliteFrontier', () => new SqliteFrontier(openState(tmpState(), { create: true, name: 't' }))],
  [
    'SqliteFrontier+bloom',
    () =>
      new SqliteFrontier(openState(tmpState(), { create: true, name: 't' }), {
        bloom: true,
        expected: 10_000,
      }),
  ],
];

function done(it: FrontierItem, links: FrontierItem[] = [], error: string | null = null): Completion {
  return { item: it, record: record(it, error), links };
}

/** Every host may go at once (readyAt 0 ≤ every lease's now). */
const all = () => 0;
const urls = (items: FrontierItem[]) => items.map((i) => i.url);

describe.each(open)('Frontier contract: %s', (_name, make) => {
  it('deduplicates across add, within one add, and across complete', () => {
    const f = make();
    expect(f.add([item('http://a/1'), item('http://a/1'), item('http://a/2')])).toBe(2);
    expect(f.add([item('http://a/1')])).toBe(0);
    const [first] = f.lease(1, 0, all);
    expect(first!.url).toBe('http://a/1');
    const n = f.complete([
      done(first!, [item('http://a/1'), item('http://a/2'), item('http://a/3'), item('http://a/3')]),
    ]);
    expect(n).toBe(1);
    // Completed URLs stay seen: re-adding them is refused.
    expect(f.add([item('http://a/1'), item('http://a/3')])).toBe(0);
    expect(f.stats()).toEqual({ queued: 2, leased: 0, done: 1, failed: 0, seen: 3, items: 0 });
    f.close();
  });

  it('keeps each host FIFO', () => {
    const f = make();
    const want = Array.from({ length: 40 }, (_, i) => `http://a/${i}`);
    f.add(want.map((u) => item(u)));
    const got: string[] = [];
    for (let i = 0; i < 40; i++) got.push(...urls(f.lease(1, 0, all)));
    expect(got).toEqual(want);
    expect(f.lease(1, 0, all)).toEqual([]);
    f.close();
  });

  it('rotates across hosts with work, within one lease and across leases', () => {
    const f = make();
    for (const h of ['a', 'b', 'c']) f.add([1, 2, 3].map((i) => item(`http://${h}/${i}`)));
    expect(urls(f.lease(4, 0, all))).toEqual(['http://a/1', 'http://b/1', 'http://c/1', 'http://a/2']);
    // The next lease starts after the last host it served.
    expect(urls(f.lease(1, 0, all))).toEqual(['http://b/2']);
    expect(urls(f.lease(1, 0, all))).toEqual(['http://c/2']);
    expect(urls(f.lease(10, 0, all)).sort()).toEqual(['http://a/3', 'http://b/3', 'http://c/3']);
    f.close();
  });

  it('does not let one host backlog starve a host added later', () => {
    const f = make();
    f.add(Array.from({ length: 100 }, (_, i) => item(`http://big/${i}`)));
    f.lease(3, 0, all);
    f.add([item('http://small/1')]);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push(...urls(f.lease(1, 0, all)));
    expect(got).toContain('http://small/1');
    f.close();
  });

  it('respects readyAt: a host blocked (Infinity) is not asked again until woken', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://b/1'), item('http://b/2')]);
    const asked: string[] = [];
    const readyAt = (h: string) => {
      asked.push(h);
      return h === 'b' ? Number.POSITIVE_INFINITY : 0;
    };
    expect(urls(f.lease(10, 0, readyAt))).toEqual(['http://a/1']);
    expect(asked).toEqual(['a', 'b']);
    expect(f.blockedHosts()).toEqual(['b']);
    // Set aside: later leases do not ask about b, whatever time it is.
    expect(f.lease(10, 1e12, readyAt)).toEqual([]);
    expect(asked).toEqual(['a', 'b']);
    expect(f.wake('a')).toBe(false); // not blocked
    expect(f.wake('nobody')).toBe(false);
    expect(f.wake('b')).toBe(true);
    expect(f.wake('b')).toBe(false); // back in the rotation already
    expect(f.blockedHosts()).toEqual([]);
    expect(urls(f.lease(10, 0, all))).toEqual(['http://b/1', 'http://b/2']);
    expect(f.stats()).toMatchObject({ queued: 0, leased: 3 });
    f.close();
  });

  it('respects readyAt: a host that says a time sleeps until then, unasked, its work still queued', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://b/1'), item('http://b/2')]);
    let asked = 0;
    const bAt = (at: number) => (h: string) => {
      if (h === 'b') asked++;
      return h === 'b' ? at : 0;
    };
    expect(urls(f.lease(10, 0, bAt(500)))).toEqual(['http://a/1']);
    expect(asked).toBe(1);
    expect(f.stats()).toMatchObject({ queued: 2, leased: 1 });
    expect(f.drained()).toBe(false);
    expect(f.wake('b')).toBe(false); // asleep, not blocked: it comes back at its time
    expect(f.lease(10, 499, bAt(0))).toEqual([]);
    expect(asked).toBe(1);
    // At 500 it is asked again; saying a later time puts it back to sleep.
    expect(f.lease(10, 500, bAt(800))).toEqual([]);
    expect(asked).toBe(2);
    expect(urls(f.lease(10, 800, bAt(800)))).toEqual(['http://b/1', 'http://b/2']);
    expect(asked).toBe(3);
    f.close();
  });

  it('respects notBefore and reports nextDueAt', () => {
    const f = make();
    expect(f.nextDueAt()).toBeUndefined();
    f.add([item('http://a/later', { notBefore: 1000 })]);
    expect(f.nextDueAt()).toBe(1000);
    expect(f.lease(10, 999, all)).toEqual([]);
    f.add([item('http://a/now')]);
    expect(f.nextDueAt()).toBe(0);
    expect(urls(f.lease(10, 999, all))).toEqual(['http://a/now']);
    expect(f.nextDueAt()).toBe(1000);
    expect(urls(f.lease(10, 1000, all))).toEqual(['http://a/later']);
    expect(f.nextDueAt()).toBeUndefined();
    f.close();
  });

  it('release puts a leased item back (at once or after notBefore), keeping attempts; a no-op otherwise', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://a/2')]);
    const [one] = f.lease(1, 0, all);
    f.release({ ...one!, attempts: 1 });
    expect(f.stats()).toMatchObject({ queued: 2, leased: 0 });
    // Released to the back of its host's queue.
    expect(urls(f.lease(1, 0, all))).toEqual(['http://a/2']);
    const [again] = f.lease(1, 0, all);
    expect(again).toMatchObject({ url: 'http://a/1', attempts: 1 });
    f.release(again!, 5000);
    expect(f.lease(1, 4999, all)).toEqual([]);
    expect(f.nextDueAt()).toBe(5000);
    expect(urls(f.lease(1, 5000, all))).toEqual(['http://a/1']);
    f.release(item('http://a/never-leased'));
    f.release(item('http://a/2')); // leased by the second lease above: this one takes effect
    expect(f.stats().queued).toBe(1);
    expect(f.stats().leased).toBe(1);
    f.close();
  });

  it('completing a queued, never-leased URL takes it out of the queue', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://a/2'), item('http://a/3')]);
    expect(urls(f.lease(1, 0, all))).toEqual(['http://a/1']);
    f.complete([done(item('http://a/2'))]);
    f.release(item('http://a/2')); // not leased: no-op
    f.release(item('http://a/3')); // queued, not leased: no-op
    expect(f.stats()).toEqual({ queued: 1, leased: 1, done: 1, failed: 0, seen: 3, items: 0 });
    expect(urls(f.lease(5, 0, all))).toEqual(['http://a/3']);
    expect(f.lease(5, 0, all)).toEqual([]);
    // A URL completed without ever being added counts as seen and can't be added later.
    f.complete([done(item('http://b/redirect-target'))]);
    expect(f.add([item('http://b/redirect-target')])).toBe(0);
    expect(f.stats()).toEqual({ queued: 0, leased: 2, done: 2, failed: 0, seen: 4, items: 0 });
    f.close();
  });

  it('hands each queued item to one lease only', () => {
    const f = make();
    f.add(Array.from({ length: 50 }, (_, i) => item(`http://h${i % 5}/${i}`)));
    const a = f.lease(20, 0, all);
    const b = f.lease(20, 0, all);
    const c = f.lease(20, 0, all);
    const got = [...a, ...b, ...c].map((i) => i.url);
    expect(got).toHaveLength(50);
    expect(new Set(got).size).toBe(50);
    expect(f.lease(20, 0, all)).toEqual([]);
    expect(f.stats()).toMatchObject({ queued: 0, leased: 50 });
    f.close();
  });

  it('counts stats, failures and requeues failed URLs', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://a/2'), item('http://b/1')]);
    const got = f.lease(3, 0, all);
    expect(f.stats()).toEqual({ queued: 0, leased: 3, done: 0, failed: 0, seen: 3, items: 0 });
    f.complete([done(got[0]!), done(got[1]!, [], 'timeout: no response within 5000 ms')]);
    expect(f.stats()).toEqual({ queued: 0, leased: 1, done: 2, failed: 1, seen: 3, items: 0 });
    expect(f.requeueFailed!()).toBe(1);
    expect(f.stats()).toEqual({ queued: 1, leased: 1, done: 1, failed: 0, seen: 3, items: 0 });
    const [retry] = f.lease(1, 0, all);
    expect(retry).toMatchObject({ url: got[1]!.url, attempts: 0 });
    f.close();
  });

  it('asks readyAt about O(1) hosts per lease when 100,000 hosts are known and one may go', () => {
    const f = make();
    const H = 100_000;
    f.add(Array.from({ length: 2 * H }, (_, i) => item(`http://h${i % H}/${i}`)));
    let calls = 0;
    // Every host once: even ones sleep until 10,000 + h, odd ones are blocked.
    const first = (host: string) => {
      calls++;
      const h = Number(host.slice(1));
      return h % 2 === 0 ? 10_000 + h : Number.POSITIVE_INFINITY;
    };
    expect(f.lease(1, 0, first)).toEqual([]);
    expect(calls).toBe(H);
    const ready = () => {
      calls++;
      return 0;
    };
    calls = 0;
    expect(urls(f.lease(1, 10_000, ready))).toEqual(['http://h0/0']);
    expect(calls).toBe(1);
    calls = 0;
    const later = () => {
      calls++;
      return 1e9;
    };
    expect(f.lease(1, 10_001, later)).toEqual([]);
    expect(calls).toBe(1);
    f.wake('h777');
    calls = 0;
    expect(urls(f.lease(1, 10_001, ready))).toEqual(['http://h777/777']);
    expect(calls).toBe(1);
    expect(f.stats()).toMatchObject({ queued: 2 * H - 2, leased: 2 });
    expect(f.blockedHosts()).toHaveLength(H / 2 - 1);
    f.close();
  });

  it('pauses a host until the given time, without asking readyAt meanwhile', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://b/1')]);
    f.pauseHost('a', 100);
    const asked: string[] = [];
    const readyAt = (h: string) => {
      asked.push(h);
      return 0;
    };
    expect(urls(f.lease(10, 50, readyAt))).toEqual(['http://b/1']);
    expect(urls(f.lease(10, 99, readyAt))).toEqual([]);
    expect(asked).toEqual(['b']);
    expect(urls(f.lease(10, 100, readyAt))).toEqual(['http://a/1']);
    expect(asked).toEqual(['b', 'a']);
    f.close();
  });

  it('lets a cleared or shortened pause take effect at once', () => {
    const f = make();
    f.add([item('http://a/1'), item('http://a/2'), item('http://b/1')]);
    f.pauseHost('a', 1000);
    expect(urls(f.lease(10, 0, all))).toEqual(['http://b/1']); // a now sleeps until 1000
    f.pauseHost('a', 300);
    expect(f.lease(10, 299, all)).toEqual([]);
    expect(urls(f.lease(1, 300, all))).toEqual(['http://a/1']);
    f.pauseHost('a', 5000);
    expect(f.lease(10, 400, all)).toEqual([]);
    f.pauseHost('a', 0);
    expect(urls(f.lease(10, 400, all))).toEqual(['http://a/2']);
    f.close();
  });

  it('answers drained() from its own counts and states its capabilities', () => {
    const f = make();
    expect(f.drained()).toBe(true);
    f.add([item('http://a/1')]);
    expect(f.drained()).toBe(false);
    const [got] = f.lease(1, 0, all);
    expect(f.drained()).toBe(false); // leased, not completed
    f.complete([{ item: got!, record: record(got!), links: [] }]);
    expect(f.drained()).toBe(true);
    expect(f.has('http://a/1')).toBe(true);
    expect(f.has('http://a/2')).toBe(false);
    expect([pausesHosts(f), schedulesHosts(f), requeuesFailed(f)]).toEqual([true, false, true]);
    f.close();
    f.close(); // idempotent
  });

  it('keeps its invariants under random operations (model check)', () => {
    const op = fc.oneof(
      fc.record({
        t: fc.constant('add' as const),
        urls: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 5 }),
      }),
      fc.record({ t: fc.constant('lease' as const), max: fc.integer({ min: 0, max: 6 }) }),
      fc.record({
        t: fc.constant('complete' as const),
        k: fc.integer({ min: 0, max: 3 }),
        links: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 4 }),
      }),
      fc.record({ t: fc.constant('release' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const f = make();
        const seen = new Set<string>();
        const leased = new Map<string, FrontierItem>();
        const completed = new Set<string>();
        const u = (n: number) => item(`http://h${n % 3}/${n}`);
        try {
          for (const o of ops) {
            if (o.t === 'add') {
              const fresh = new Set(o.urls.map((n) => u(n).url).filter((x) => !seen.has(x)));
              expect(f.add(o.urls.map(u))).toBe(fresh.size);
              for (const x of fresh) seen.add(x);
            } else if (o.t === 'lease') {
              for (const it of f.lease(o.max, 0, all)) {
                expect(leased.has(it.url) || completed.has(it.url)).toBe(false);
                expect(seen.has(it.url)).toBe(true);
                leased.set(it.url, it);
              }
            } else if (o.t === 'complete') {
              const batch = [...leased.values()].slice(0, o.k);
              const fresh = new Set(o.links.map((n) => u(n).url).filter((x) => !seen.has(x)));
              const c = batch.map((it, i) => done(it, i === 0 ? o.links.map(u) : []));
              expect(f.complete(c)).toBe(batch.length > 0 ? fresh.size : 0);
              if (batch.length > 0) for (const x of fresh) seen.add(x);
              for (const it of batch) {
                leased.delete(it.url);
                completed.add(it.url);
              }
            } else {
              const first = leased.values().next().value;
              if (first !== undefined) {
                f.release(first);
                leased.delete(first.url);
              }
            }
            const s = f.stats();
            expect(s.seen).toBe(seen.size);
            expect(s.leased).toBe(leased.size);
            expect(s.done).toBe(completed.size);
            expect(s.queued).toBe(seen.size - leased.size - completed.size);
          }
        } finally {
          f.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
