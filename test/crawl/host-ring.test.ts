import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostRing, OUT, type RingPlace } from '../../src/crawl/frontier/host-ring.js';

/** A host's queue as the frontiers keep one: here just a count of queued items. */
interface Q {
  host: string;
  place: RingPlace;
  wakeAt: number;
  work: number;
}

const INF = Number.POSITIVE_INFINITY;

function newRing(): HostRing<Q> {
  return new HostRing<Q>((q) => q.work === 0);
}

/** Gives `host` `n` more items and joins it, as a frontier's add does. */
function add(ring: HostRing<Q>, host: string, n = 1): Q {
  const q = ring.entry(host, (h) => ({ host: h, place: OUT, wakeAt: 0, work: 0 }));
  q.work += n;
  ring.join(q);
  return q;
}

const take = (q: Q) => {
  if (q.work === 0) return false;
  q.work--;
  return true;
};

/** A readyAt that answers from `answers` (default: now) and records who was asked. */
function asking(answers: Record<string, number> = {}) {
  const asked: string[] = [];
  const readyAt = (h: string) => {
    asked.push(h);
    return answers[h] ?? 0;
  };
  return { asked, readyAt };
}

/** One pick(max) at `now`; the hosts chosen. */
function pick(ring: HostRing<Q>, max: number, now: number, readyAt: (h: string) => number): string[] {
  return ring.pick(max, now, readyAt, take).map((q) => q.host);
}

describe('HostRing', () => {
  it('brings a sleeper back exactly at its time, not before, and asks it again then', () => {
    const ring = newRing();
    add(ring, 'a', 5);
    add(ring, 'b', 5);
    const a = asking({ b: 1000 });
    expect(pick(ring, 2, 0, a.readyAt)).toEqual(['a']);
    expect(a.asked).toEqual(['a', 'b']);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([1, 1, 0]);
    const b = asking({ a: INF });
    expect(pick(ring, 2, 999, b.readyAt)).toEqual([]); // a now blocked; b still asleep, unasked
    expect(b.asked).toEqual(['a']);
    const c = asking();
    expect(pick(ring, 2, 1000, c.readyAt)).toEqual(['b']);
    expect(c.asked).toEqual(['b']);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([1, 0, 1]);
  });

  it('says when a lease may next find a host: 0 with work in the rotation, the first sleeper, or never', () => {
    const ring = newRing();
    expect(ring.dueAt()).toBeUndefined();
    add(ring, 'a', 1);
    add(ring, 'b', 1);
    add(ring, 'c', 1);
    expect(ring.dueAt()).toBe(0);
    expect(pick(ring, 1, 0, asking({ a: 700, b: 300, c: INF }).readyAt)).toEqual([]);
    expect(ring.dueAt()).toBe(300); // the earlier sleeper; c waits for a wake
    expect(pick(ring, 1, 300, asking({ b: 0 }).readyAt)).toEqual(['b']);
    expect(ring.dueAt()).toBe(700); // b has no work left
    expect(pick(ring, 1, 700, asking({ a: 0 }).readyAt)).toEqual(['a']);
    expect(ring.dueAt()).toBeUndefined(); // only c, blocked
    ring.wake('c');
    expect(ring.dueAt()).toBe(0);
  });

  it('lets a sleeper that comes due and says a later time sleep again, asked once per pick', () => {
    const ring = newRing();
    add(ring, 'a', 3);
    let calls = 0;
    const at = (t: number) => () => {
      calls++;
      return t;
    };
    expect(pick(ring, 1, 0, at(10))).toEqual([]);
    expect(pick(ring, 1, 10, at(20))).toEqual([]);
    expect(pick(ring, 1, 15, at(0))).toEqual([]);
    expect(calls).toBe(2);
    expect(pick(ring, 1, 20, at(20))).toEqual(['a']);
    expect(calls).toBe(3);
  });

  it('brings a blocked host back on wake only, at the back of the rotation', () => {
    const ring = newRing();
    for (const h of ['a', 'b', 'c']) add(ring, h, 9);
    const first = asking({ a: INF });
    expect(pick(ring, 2, 0, first.readyAt)).toEqual(['b', 'c']);
    expect(ring.blockedHosts()).toEqual(['a']);
    // However late it gets, a blocked host is not asked.
    const later = asking();
    expect(pick(ring, 2, 1e15, later.readyAt)).toEqual(['b', 'c']);
    expect(later.asked).toEqual(['b', 'c']);
    expect(ring.wake('a')).toBe(true);
    expect([ring.size, ring.blocked]).toEqual([3, 0]);
    // The next round serves b and c first, then a.
    const next = asking();
    expect(pick(ring, 1, 0, next.readyAt)).toEqual(['b']);
    expect(pick(ring, 1, 0, next.readyAt)).toEqual(['c']);
    expect(pick(ring, 1, 0, next.readyAt)).toEqual(['a']);
    expect(pick(ring, 1, 0, next.readyAt)).toEqual(['b']);
  });

  it('treats a NaN answer as blocked', () => {
    const ring = newRing();
    add(ring, 'a');
    expect(pick(ring, 1, 0, () => Number.NaN)).toEqual([]);
    expect(ring.blockedHosts()).toEqual(['a']);
  });

  it('makes wake a no-op for an unknown host, one in the rotation and one asleep', () => {
    const ring = newRing();
    add(ring, 'a', 5);
    add(ring, 'b', 5);
    expect(ring.wake('nobody')).toBe(false);
    expect(ring.wake('a')).toBe(false);
    pick(ring, 2, 0, asking({ b: 500 }).readyAt);
    expect(ring.wake('b')).toBe(false);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([1, 1, 0]);
    const a = asking();
    expect(pick(ring, 2, 499, a.readyAt)).toEqual(['a']);
    expect(a.asked).toEqual(['a']);
  });

  it('serves each host once per round in ring order, a sleeper that comes due rejoining at the back', () => {
    const ring = newRing();
    for (const h of ['a', 'b', 'c', 'd']) add(ring, h, 100);
    const order: string[] = [];
    const readyAt = (h: string) => (h === 'b' && order.length === 1 ? 50 : 0);
    for (let now = 0; order.length < 12; now += 10) order.push(...pick(ring, 1, now, readyAt));
    // b sleeps from the second pick (now 10) until 50: the rounds are a, c, d meanwhile, and b,
    // due at 50 (while d's turn comes), rejoins behind d.
    expect(order).toEqual(['a', 'c', 'd', 'a', 'c', 'd', 'b', 'a', 'c', 'd', 'b', 'a']);
  });

  it('deals a pick with several slots one per host per round, in ring order', () => {
    const ring = newRing();
    add(ring, 'a', 3);
    add(ring, 'b', 1);
    add(ring, 'c', 2);
    const got: string[] = [];
    const chosen = ring.pick(
      5,
      0,
      () => 0,
      (q) => {
        if (!take(q)) return false;
        got.push(q.host);
        return true;
      },
    );
    expect(chosen.map((q) => q.host)).toEqual(['a', 'b', 'c']);
    expect(got).toEqual(['a', 'b', 'c', 'a', 'c']);
  });

  it('keeps the order among ready hosts when others leave and come back', () => {
    const ring = newRing();
    const hosts = ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'];
    for (const h of hosts) add(ring, h, 100);
    // h1 and h4 are blocked in the first round; the others keep their order.
    const first = pick(ring, 4, 0, (h) => (h === 'h1' || h === 'h4' ? INF : 0));
    expect(first).toEqual(['h0', 'h2', 'h3', 'h5']);
    // Woken, they rejoin behind the others, in the order they were woken.
    ring.wake('h4');
    ring.wake('h1');
    expect(pick(ring, 6, 0, () => 0)).toEqual(['h0', 'h2', 'h3', 'h5', 'h4', 'h1']);
  });

  it('sleeps a paused host until its pause ends, unasked, and wakes it when the pause is cleared', () => {
    const ring = newRing();
    add(ring, 'a', 3);
    add(ring, 'b', 3);
    ring.pause('a', 100);
    const first = asking();
    expect(pick(ring, 2, 0, first.readyAt)).toEqual(['b']);
    expect(first.asked).toEqual(['b']);
    expect(ring.sleeping).toBe(1);
    const second = asking();
    expect(pick(ring, 2, 100, second.readyAt)).toEqual(['b', 'a']);
    // A pause set again, then cleared: the host comes back at once.
    ring.pause('a', 1e9);
    pick(ring, 2, 200, () => 0);
    expect(ring.sleeping).toBe(1);
    ring.pause('a', 0);
    expect(ring.sleeping).toBe(0);
    expect(pick(ring, 2, 200, () => 0)).toContain('a');
    // A pause of a host with no entry holds for the work it gets later.
    ring.pause('c', 500);
    add(ring, 'c');
    const third = asking();
    expect(pick(ring, 3, 300, third.readyAt)).not.toContain('c');
    expect(third.asked).not.toContain('c');
    expect(pick(ring, 3, 500, () => 0)).toContain('c');
  });

  it('keeps the entries of sleeping and blocked hosts (their work is still queued) and compacts empty ones', () => {
    const ring = newRing();
    const a = add(ring, 'a');
    const b = add(ring, 'b', 2);
    add(ring, 'c');
    expect(pick(ring, 3, 0, (h) => (h === 'a' ? 10 : h === 'b' ? INF : 0))).toEqual(['c']);
    // c gave its only item and was compacted away; a and b keep their entries out of the rotation.
    expect(ring.get('c')).toBeUndefined();
    expect(ring.get('a')).toBe(a);
    expect(ring.get('b')).toBe(b);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([0, 1, 1]);
    // New work for a set-aside host does not bring it back: it is not ready for having work.
    add(ring, 'b');
    expect(b.work).toBe(3);
    expect(ring.blocked).toBe(1);
    // Work completed while asleep: the empty entry comes back and is dropped.
    a.work = 0;
    expect(pick(ring, 1, 10, () => 0)).toEqual([]);
    expect(ring.get('a')).toBeUndefined();
    expect(ring.sleeping).toBe(0);
  });

  it('forgets sleepers, blocked hosts and pauses on clear', () => {
    const ring = newRing();
    add(ring, 'a');
    add(ring, 'b');
    ring.pause('c', 100);
    pick(ring, 2, 0, (h) => (h === 'a' ? 10 : INF));
    ring.clear();
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([0, 0, 0]);
    expect(ring.get('a')).toBeUndefined();
    expect(pick(ring, 2, 10, () => 0)).toEqual([]);
    add(ring, 'c');
    expect(pick(ring, 1, 0, () => 0)).toEqual(['c']);
  });

  it('asks readyAt O(1) times per lease with 100,000 known hosts of which one may go', () => {
    const ring = newRing();
    const H = 100_000;
    for (let h = 0; h < H; h++) add(ring, `h${h}`, 2);
    // The first lease asks every host once: even hosts sleep until 10,000 + h, odd ones block.
    let calls = 0;
    const first = (host: string) => {
      calls++;
      const h = Number(host.slice(1));
      return h % 2 === 0 ? 10_000 + h : INF;
    };
    expect(pick(ring, 1, 0, first)).toEqual([]);
    expect(calls).toBe(H);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([0, H / 2, H / 2]);
    // From now on each lease looks at the one host that may go.
    calls = 0;
    const ready = () => {
      calls++;
      return 0;
    };
    expect(pick(ring, 1, 10_000, ready)).toEqual(['h0']);
    expect(calls).toBe(1);
    calls = 0;
    const later = () => {
      calls++;
      return 1e9;
    };
    expect(pick(ring, 1, 10_001, later)).toEqual([]); // h0 sleeps; nothing due
    expect(calls).toBe(1);
    calls = 0;
    expect(ring.wake('h12345')).toBe(true);
    expect(pick(ring, 1, 10_001, ready)).toEqual(['h12345']);
    expect(calls).toBe(1);
    // h2 comes due at 10,002, behind h12345 (served again: the next round starts with it).
    calls = 0;
    expect(pick(ring, 1, 10_002, ready)).toEqual(['h12345']);
    expect(calls).toBe(1);
    calls = 0;
    expect(pick(ring, 1, 10_002, ready)).toEqual(['h2']);
    expect(calls).toBe(1);
    expect([ring.size, ring.sleeping, ring.blocked]).toEqual([1, H / 2 - 1, H / 2 - 1]);
  });

  it('asks about 2 hosts per lease in the steady state of a polite crawl, with 1,000 or 20,000 hosts', () => {
    // The shape of bench/crawl/frontier-hosts.bench.ts's polite scenario: host h may go once per
    // interval[h] in 1–2 s; a virtual clock advances by 95 % of the hosts' aggregate interval per
    // attempt. After two laps (every host asked to leave the rotation once), count the calls.
    const perLease = (H: number): number => {
      const ring = newRing();
      const interval = Array.from({ length: H }, (_, h) => 1000 * (1 + ((h * 0.6180339887) % 1)));
      const nextAt = new Float64Array(H);
      for (let h = 0; h < H; h++) add(ring, `h${h}`, 1e9);
      let aggregate = 0;
      for (const i of interval) aggregate += 1 / i;
      const step = (1 / aggregate) * 0.95;
      let now = 0;
      let calls = 0;
      const readyAt = (host: string) => {
        calls++;
        return nextAt[Number(host.slice(1))]!;
      };
      const lease = (): boolean => {
        now += step;
        const [q] = ring.pick(1, now, readyAt, take);
        if (q === undefined) return false;
        const h = Number(q.host.slice(1));
        nextAt[h] = now + interval[h]!;
        return true;
      };
      for (let got = 0; got < 2 * H; ) if (lease()) got++;
      calls = 0;
      let leases = 0;
      while (leases < H) if (lease()) leases++;
      return calls / leases;
    };
    const small = perLease(1_000);
    const large = perLease(20_000);
    expect(small).toBeLessThan(2.5);
    expect(large).toBeLessThan(2.5);
  });

  it('loses no host with work under random picks, answers, wakes and pauses (model check)', () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    const answer = fc.oneof(fc.constant(0), fc.constant(INF), fc.integer({ min: 1, max: 50 }));
    const op = fc.oneof(
      fc.record({
        t: fc.constant('add' as const),
        h: fc.integer({ min: 0, max: 4 }),
        n: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({
        t: fc.constant('pick' as const),
        max: fc.integer({ min: 0, max: 4 }),
        dt: fc.integer({ min: 0, max: 20 }),
        answers: fc.array(answer, { minLength: 5, maxLength: 5 }),
      }),
      fc.record({ t: fc.constant('wake' as const), h: fc.integer({ min: 0, max: 4 }) }),
      fc.record({
        t: fc.constant('pause' as const),
        h: fc.integer({ min: 0, max: 4 }),
        d: fc.integer({ min: -5, max: 40 }),
      }),
      fc.record({ t: fc.constant('drop' as const), h: fc.integer({ min: 0, max: 4 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const ring = newRing();
        let now = 0;
        let queued = 0;
        for (const o of ops) {
          if (o.t === 'add') {
            add(ring, hosts[o.h]!, o.n);
            queued += o.n;
          } else if (o.t === 'pick') {
            now += o.dt;
            const asked = new Set<string>();
            const before = queued;
            ring.pick(
              o.max,
              now,
              (h) => {
                expect(asked.has(h)).toBe(false); // at most once per pick
                asked.add(h);
                return o.answers[hosts.indexOf(h)]!;
              },
              (q) => {
                if (!take(q)) return false;
                queued--;
                return true;
              },
            );
            expect(before - queued).toBeLessThanOrEqual(Math.max(0, o.max));
          } else if (o.t === 'wake') ring.wake(hosts[o.h]!);
          else if (o.t === 'pause') ring.pause(hosts[o.h]!, o.d <= 0 ? 0 : now + o.d);
          else {
            // Work completed while queued (the frontier's complete of a never-leased item).
            const q = ring.get(hosts[o.h]!);
            if (q !== undefined && q.work > 0) {
              q.work--;
              queued--;
            }
          }
          // Every host with work has an entry in one of the three places.
          for (const h of hosts) {
            const q = ring.get(h);
            if (q !== undefined && q.work > 0) expect(q.place).not.toBe(OUT);
          }
        }
        // Wake everything, let every pause and sleep end: all the work comes out.
        for (const h of hosts) {
          ring.wake(h);
          ring.pause(h, 0);
        }
        now += 1000;
        for (let i = 0; i < 200 && queued > 0; i++) {
          ring.pick(
            3,
            now,
            () => 0,
            (q) => {
              if (!take(q)) return false;
              queued--;
              return true;
            },
          );
        }
        expect(queued).toBe(0);
        expect([ring.size, ring.sleeping, ring.blocked]).toEqual([ring.size, 0, 0]);
      }),
      { numRuns: 300 },
    );
  });
});
