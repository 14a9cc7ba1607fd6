// Go's golang.org/x/sync/semaphore tests (semaphore_test.go), ported; each `it` is named after
// its Go test. Goroutines become async loops; sleeps become event-loop yields or explicit aborts,
// so nothing depends on wall-clock speed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flush } from '../../src/conc/clock.js';
import { newWeighted, type Weighted } from '../../src/conc/semaphore.js';

// Yields to the event loop 0..max times (Go's random sleep in HammerWeighted).
async function yieldRandom(max: number): Promise<void> {
  const k = Math.floor(Math.random() * (max + 1));
  for (let i = 0; i < k; i++) await flush();
}

// Tracks the settlement of a promise without awaiting it.
function track(p: Promise<unknown>): { state: 'pending' | 'ok' | 'err'; err?: unknown } {
  const s: { state: 'pending' | 'ok' | 'err'; err?: unknown } = { state: 'pending' };
  p.then(
    () => {
      s.state = 'ok';
    },
    (e: unknown) => {
      s.state = 'err';
      s.err = e;
    },
  );
  return s;
}

describe('Weighted (ported from Go semaphore_test.go)', () => {
  it('TestWeighted', async () => {
    const n = 8;
    const loops = Math.floor(10_000 / n);
    const sem = newWeighted(n);
    let held = 0;
    let maxHeld = 0;
    async function hammer(w: number): Promise<void> {
      for (let i = 0; i < loops; i++) {
        await sem.acquire(w);
        held += w;
        maxHeld = Math.max(maxHeld, held);
        expect(held).toBeLessThanOrEqual(n);
        await yieldRandom(2);
        held -= w;
        sem.release(w);
      }
    }
    await Promise.all(Array.from({ length: n }, (_, i) => hammer(i)));
    expect(held).toBe(0);
    expect(maxHeld).toBeGreaterThan(1); // the loops really did overlap
    expect(sem.tryAcquire(n)).toBe(true); // everything was given back
  });

  it('TestWeightedPanic', () => {
    const w = newWeighted(1);
    expect(() => w.release(1)).toThrow('semaphore: released more than held');
  });

  it('TestWeightedTryAcquire', async () => {
    const sem = newWeighted(2);
    const tries: boolean[] = [];
    await sem.acquire(1);
    tries.push(sem.tryAcquire(1));
    tries.push(sem.tryAcquire(1));
    sem.release(2);
    tries.push(sem.tryAcquire(1));
    await sem.acquire(1);
    tries.push(sem.tryAcquire(1));
    expect(tries).toEqual([true, false, true, false]);
  });

  it('TestWeightedAcquire', async () => {
    const sem = newWeighted(2);
    // Go gives each attempt a 10 ms timeout; here the attempt is aborted once the event loop
    // has had a turn without it succeeding.
    const tryAcquire = async (n: number): Promise<boolean> => {
      const ac = new AbortController();
      const s = track(sem.acquire(n, ac.signal));
      await flush();
      ac.abort(new Error('context deadline exceeded'));
      await flush();
      return s.state === 'ok';
    };
    const tries: boolean[] = [];
    await sem.acquire(1);
    tries.push(await tryAcquire(1));
    tries.push(await tryAcquire(1));
    sem.release(2);
    tries.push(await tryAcquire(1));
    await sem.acquire(1);
    tries.push(await tryAcquire(1));
    expect(tries).toEqual([true, false, true, false]);
  });

  it('TestWeightedDoesntBlockIfTooBig', async () => {
    const n = 2;
    const sem = newWeighted(n);
    const ac = new AbortController();
    const big = track(sem.acquire(n + 1, ac.signal));
    const results = await Promise.all(
      Array.from({ length: n * 3 }, async () => {
        await sem.acquire(1);
        await flush();
        sem.release(1);
        return true;
      }),
    );
    expect(results).toHaveLength(n * 3);
    expect(big.state).toBe('pending');
    ac.abort(new Error('cancel'));
    await flush();
    expect(big.state).toBe('err');
  });

  // Times out if a large acquire starves; returning at all is success.
  it('TestLargeAcquireDoesntStarve', async () => {
    const n = 4;
    const sem = newWeighted(n);
    let running = true;
    const loops: Promise<void>[] = [];
    for (let i = n; i > 0; i--) {
      await sem.acquire(1);
      loops.push(
        (async () => {
          try {
            while (running) {
              await flush();
              sem.release(1);
              await sem.acquire(1);
            }
          } finally {
            sem.release(1);
          }
        })(),
      );
    }
    await sem.acquire(n);
    running = false;
    sem.release(n);
    await Promise.all(loops);
  }, 10_000);

  // Translated (by Go) from zhiqiangxu/util mutex/crwmutex_test.go.
  it('TestAllocCancelDoesntStarve', async () => {
    const sem = newWeighted(10);
    // Hold 1 read lock.
    await sem.acquire(1);
    // Start a write lock request that gives up later (Go: after 300 ms).
    const ac = new AbortController();
    const write = track(sem.acquire(10, ac.signal));
    await flush();
    // Try to grab a read lock: it is queued behind the write request, but must be notified
    // when the write request is cancelled.
    const read = track(sem.acquire(1));
    await flush();
    expect(read.state).toBe('pending');
    ac.abort(new Error('context deadline exceeded'));
    await flush();
    expect(write.state).toBe('err');
    expect(read.state).toBe('ok');
    sem.release(1);
  });

  // https://go.dev/issue/63615
  it('TestWeightedAcquireCanceled', async () => {
    const sem = newWeighted(2);
    const ac = new AbortController();
    await sem.acquire(1);
    const p = sem.acquire(2, ac.signal);
    // Synchronize with the acquire(2): it is queued, so tryAcquire fails.
    expect(sem.tryAcquire(1)).toBe(false);
    // Now cancel, and then release the token.
    const reason = new Error('context canceled');
    ac.abort(reason);
    sem.release(1);
    // Since the abort happens before enough tokens become available, this acquire must fail.
    await expect(p).rejects.toBe(reason);
    // There must always be two tokens in the semaphore after the release.
    expect(sem.tryAcquire(2)).toBe(true);
    // Additionally verify that we don't acquire with a done signal even when we wouldn't need
    // to block to do so.
    sem.release(2);
    await expect(sem.acquire(1, ac.signal)).rejects.toBe(reason);
    expect(sem.tryAcquire(2)).toBe(true);
  });
});

describe('Weighted: FIFO and cancellation races', () => {
  it('a large head waiter blocks later small ones (no barging)', async () => {
    const sem = newWeighted(2);
    await sem.acquire(2);
    const a = track(sem.acquire(2));
    const b = track(sem.acquire(1));
    sem.release(1);
    await flush();
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
    expect(sem.tryAcquire(1)).toBe(false); // someone waits, so no barging
    sem.release(1);
    await flush();
    expect([a.state, b.state]).toEqual(['ok', 'pending']);
    sem.release(2);
    await flush();
    expect(b.state).toBe('ok');
  });

  it('release wakes head waiters while they fit and stops at the first that does not', async () => {
    const sem = newWeighted(3);
    await sem.acquire(3);
    const ws = [1, 1, 2, 1].map((n) => track(sem.acquire(n)));
    sem.release(3);
    await flush();
    expect(ws.map((w) => w.state)).toEqual(['ok', 'ok', 'pending', 'pending']);
  });

  it('an abort that lands after the grant but before the caller resumes fails and gives back', async () => {
    const sem = newWeighted(1);
    await sem.acquire(1);
    const ac = new AbortController();
    const reason = new Error('late abort');
    const p = sem.acquire(1, ac.signal);
    sem.release(1); // grants the waiter…
    ac.abort(reason); // …but the abort happens before it observes the grant
    await expect(p).rejects.toBe(reason);
    expect(sem.tryAcquire(1)).toBe(true); // the weight came back
  });

  it('the weight given back by a late abort goes to the next waiter', async () => {
    const sem = newWeighted(1);
    await sem.acquire(1);
    const ac = new AbortController();
    const first = track(sem.acquire(1, ac.signal));
    const second = track(sem.acquire(1));
    sem.release(1);
    ac.abort();
    await flush();
    expect(first.state).toBe('err');
    expect(second.state).toBe('ok');
  });

  it('aborting a waiter in the middle of the queue wakes no one and keeps the order', async () => {
    const sem = newWeighted(2);
    await sem.acquire(2);
    const ac = new AbortController();
    const a = track(sem.acquire(2));
    const b = track(sem.acquire(1, ac.signal));
    const c = track(sem.acquire(1));
    ac.abort();
    await flush();
    expect([a.state, b.state, c.state]).toEqual(['pending', 'err', 'pending']);
    sem.release(2);
    await flush();
    expect([a.state, c.state]).toEqual(['ok', 'pending']);
    sem.release(2);
    await flush();
    expect(c.state).toBe('ok');
  });

  it('a request larger than the size without a signal never settles and blocks no one', async () => {
    const sem = newWeighted(1);
    const big = track(sem.acquire(2));
    await sem.acquire(1);
    sem.release(1);
    expect(sem.tryAcquire(1)).toBe(true);
    await flush();
    expect(big.state).toBe('pending');
  });

  it('property: matches a reference model of FIFO grants, releases and aborts', async () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('acquire' as const),
        n: fc.integer({ min: 0, max: 5 }),
        abortable: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('abort' as const), pick: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 40 }), async (size, ops) => {
        const sem: Weighted = newWeighted(size);
        // Reference model.
        let cur = 0;
        const queue: { id: number; n: number }[] = [];
        const modelHeld = new Set<number>();
        const notify = () => {
          while (queue.length > 0 && size - cur >= queue[0].n) {
            const w = queue.shift()!;
            cur += w.n;
            modelHeld.add(w.id);
          }
        };
        const reqs: { id: number; n: number; ac?: AbortController; s: ReturnType<typeof track> }[] = [];
        const released = new Set<number>();
        for (const o of ops) {
          if (o.kind === 'acquire') {
            const id = reqs.length;
            const ac = o.abortable ? new AbortController() : undefined;
            reqs.push({ id, n: o.n, ac, s: track(sem.acquire(o.n, ac?.signal)) });
            if (queue.length === 0 && size - cur >= o.n) {
              cur += o.n;
              modelHeld.add(id);
            } else if (o.n <= size) queue.push({ id, n: o.n });
          } else if (o.kind === 'release') {
            const held = [...modelHeld].filter((id) => !released.has(id));
            if (held.length === 0) continue;
            const id = held[o.pick % held.length];
            released.add(id);
            sem.release(reqs[id].n);
            cur -= reqs[id].n;
            notify();
          } else {
            const abortable = reqs.filter((r) => r.ac && !r.ac.signal.aborted);
            if (abortable.length === 0) continue;
            const r = abortable[o.pick % abortable.length];
            r.ac!.abort();
            const i = queue.findIndex((w) => w.id === r.id);
            if (i >= 0) {
              queue.splice(i, 1);
              if (i === 0 && size > cur) notify();
            }
          }
          await flush();
          for (const r of reqs) {
            expect(r.s.state === 'ok', `request ${r.id} (n=${r.n}) granted`).toBe(modelHeld.has(r.id));
          }
          expect(sem.tryAcquire(0)).toBe(queue.length === 0 && size - cur >= 0);
        }
      }),
      { numRuns: 150 },
    );
  });
});
