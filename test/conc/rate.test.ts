// Go's golang.org/x/time/rate tests (rate_test.go), ported case by case; each `it` is named
// after its Go test. Times are ms; d = 100 ms as in Go.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeClock, flush, systemClock } from '../../src/conc/clock.js';
import { setSignalDeadline } from '../../src/conc/deadline.js';
import {
  _reserveNWithin,
  every,
  Inf,
  InfDuration,
  Limiter,
  LimiterBurstError,
  LimiterDeadlineError,
  newLimiter,
  type Reservation,
} from '../../src/conc/rate.js';

const d = 100;
const t0 = 1_700_000_000_000;
const t1 = t0 + 1 * d;
const t2 = t0 + 2 * d;
const t3 = t0 + 3 * d;
const t4 = t0 + 4 * d;
const t5 = t0 + 5 * d;
const t9 = t0 + 9 * d;

// [t, toks, n, ok]: TokensAt(t) must equal toks exactly, then AllowN(t, n) must equal ok.
type Allow = [t: number, toks: number, n: number, ok: boolean];

function run(lim: Limiter, allows: Allow[]): void {
  allows.forEach(([t, toks, n, ok], i) => {
    expect(lim.tokensAt(t), `step ${i}: tokensAt(t${(t - t0) / d})`).toBe(toks);
    expect(lim.allowN(t, n), `step ${i}: allowN(t${(t - t0) / d}, ${n})`).toBe(ok);
  });
}

// The nearest multiple of d (Go's dFromDuration).
const dFromDuration = (dur: number): number => Math.floor((dur + d / 2) / d);
const dSince = (t: number): number => dFromDuration(t - t0);

// [t, n, act, ok]: reserveN(t, n) must be ok === ok and, when ok, act at `act` (to the nearest d).
type Request = [t: number, n: number, act: number, ok: boolean];

function runReserveMax(lim: Limiter, [t, n, act, ok]: Request, maxReserve: number): Reservation {
  const r = _reserveNWithin(lim, t, n, maxReserve);
  expect(r.ok(), `reserveN(t${dSince(t)}, ${n}).ok`).toBe(ok);
  if (ok) expect(dSince(t + r.delayFrom(t)), `reserveN(t${dSince(t)}, ${n}) time to act`).toBe(dSince(act));
  return r;
}
const runReserve = (lim: Limiter, req: Request): Reservation => runReserveMax(lim, req, InfDuration);

describe('rate (ported from Go rate_test.go)', () => {
  it('TestLimit', () => {
    expect(10 === Inf).toBe(false);
    expect(Inf).toBe(Number.POSITIVE_INFINITY);
  });

  it('TestEvery', () => {
    const cases: [number, number][] = [
      [0, Inf],
      [-1, Inf],
      [1e-6, 1e9], // 1 ns
      [1e-3, 1e6], // 1 µs
      [1, 1e3],
      [10, 100],
      [100, 10],
      [1000, 1],
      [2000, 0.5],
      [2500, 0.4],
      [4000, 0.25],
      [10_000, 0.1],
      [Number(2n ** 63n - 1n) / 1e6, 1e9 / Number(2n ** 63n - 1n)], // MaxInt64 ns
    ];
    for (const [interval, lim] of cases) {
      const got = every(interval);
      if (lim === Inf) expect(got).toBe(Inf);
      else expect(Math.abs(got / lim - 1), `every(${interval})`).toBeLessThan(1e-9);
    }
  });

  it('TestLimiterBurst1', () => {
    run(newLimiter(10, 1), [
      [t0, 1, 1, true],
      [t0, 0, 1, false],
      [t0, 0, 1, false],
      [t1, 1, 1, true],
      [t1, 0, 1, false],
      [t1, 0, 1, false],
      [t2, 1, 2, false], // burst size is 1, so n=2 always fails
      [t2, 1, 1, true],
      [t2, 0, 1, false],
    ]);
  });

  it('TestLimiterBurst3', () => {
    run(newLimiter(10, 3), [
      [t0, 3, 2, true],
      [t0, 1, 2, false],
      [t0, 1, 1, true],
      [t0, 0, 1, false],
      [t1, 1, 4, false],
      [t2, 2, 1, true],
      [t3, 2, 1, true],
      [t4, 2, 1, true],
      [t4, 1, 1, true],
      [t4, 0, 1, false],
      [t4, 0, 1, false],
      [t9, 3, 3, true],
      [t9, 0, 0, true],
    ]);
  });

  it('TestLimiterJumpBackwards', () => {
    run(newLimiter(10, 3), [
      [t1, 3, 1, true], // start at t1
      [t0, 2, 1, true], // jump back to t0, two tokens remain
      [t0, 1, 1, true],
      [t0, 0, 1, false],
      [t0, 0, 1, false],
      [t1, 1, 1, true], // got a token
      [t1, 0, 1, false],
      [t1, 0, 1, false],
      [t2, 1, 1, true], // got another token
      [t2, 0, 1, false],
      [t2, 0, 1, false],
    ]);
  });

  // Ensure tokensFromDuration doesn't produce rounding errors (golang.org/issues/34861).
  it('TestLimiter_noTruncationErrors', () => {
    expect(new Limiter(0.7692307692307693, 1).allow()).toBe(true);
  });

  it('TestSimultaneousRequests', async () => {
    const limit = 1;
    const burst = 5;
    const numRequests = 15;
    // Very slow replenishing bucket, on the real clock.
    const lim = newLimiter(limit, burst);
    let numOK = 0;
    await Promise.all(
      Array.from({ length: numRequests }, async () => {
        await flush();
        if (lim.allow()) numOK++;
      }),
    );
    expect(numOK).toBe(burst);
  });

  it('TestLongRunningQPS', () => {
    // Runs for 5 (fake) seconds executing many requests, then checks the overall count.
    const limit = 100;
    const burst = 100;
    const clock = new FakeClock(t0);
    const lim = newLimiter(limit, burst, clock);
    let numOK = 0;
    const start = clock.now();
    const end = start + 5000;
    while (clock.now() < end) {
      if (lim.allowN(clock.now(), 1)) numOK++;
      // Still offers ~500 requests per second.
      clock.advance(2);
    }
    const elapsed = clock.now() - start;
    const ideal = burst + (limit * elapsed) / 1000;
    // We should never get more requests than allowed.
    expect(numOK).toBeLessThanOrEqual(Math.trunc(ideal + 1));
    // We should get very close to the number of requests allowed.
    expect(numOK).toBeGreaterThanOrEqual(Math.trunc(0.999 * ideal));
  });

  it('TestSimpleReserve', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    runReserve(lim, [t0, 2, t2, true]);
    runReserve(lim, [t3, 2, t4, true]);
  });

  it('TestMix', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 3, t1, false]); // should return false because n > Burst
    runReserve(lim, [t0, 2, t0, true]);
    run(lim, [[t1, 1, 2, false]]); // not enough tokens - don't allow
    runReserve(lim, [t1, 2, t2, true]);
    run(lim, [[t1, -1, 1, false]]); // negative tokens - don't allow
    run(lim, [[t3, 1, 1, true]]);
  });

  it('TestCancelInvalid', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 3, t3, false]);
    r.cancelAt(t0); // should have no effect
    runReserve(lim, [t0, 2, t2, true]); // did not get extra tokens
  });

  it('TestCancelLast', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 2, t2, true]);
    r.cancelAt(t1); // got 2 tokens back
    runReserve(lim, [t1, 2, t2, true]);
  });

  it('TestCancelTooLate', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 2, t2, true]);
    r.cancelAt(t3); // too late to cancel - should have no effect
    runReserve(lim, [t3, 2, t4, true]);
  });

  it('TestCancel0Tokens', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 1, t1, true]);
    runReserve(lim, [t0, 1, t2, true]);
    r.cancelAt(t0); // got 0 tokens back
    runReserve(lim, [t0, 1, t3, true]);
  });

  it('TestCancel1Token', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 2, t2, true]);
    runReserve(lim, [t0, 1, t3, true]);
    r.cancelAt(t2); // got 1 token back
    runReserve(lim, [t2, 2, t4, true]);
  });

  it('TestCancelMulti', () => {
    const lim = newLimiter(10, 4);
    runReserve(lim, [t0, 4, t0, true]);
    const rA = runReserve(lim, [t0, 3, t3, true]);
    runReserve(lim, [t0, 1, t4, true]);
    const rC = runReserve(lim, [t0, 1, t5, true]);
    rC.cancelAt(t1); // get 1 token back
    rA.cancelAt(t1); // get 2 tokens back, as if C was never reserved
    runReserve(lim, [t1, 3, t5, true]);
  });

  it('TestReserveJumpBack', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t1, 2, t1, true]); // start at t1
    runReserve(lim, [t0, 1, t1, true]); // should violate Limit,Burst
    runReserve(lim, [t2, 2, t3, true]);
    // burst size is 2, so n=3 always fails, and the state of lim should not be changed
    runReserve(lim, [t0, 3, 0, false]);
    runReserve(lim, [t2, 1, t4, true]);
    // the maxReserve is not enough so it fails, and the state of lim should not be changed
    runReserveMax(lim, [t0, 2, 0, false], d);
    runReserve(lim, [t2, 1, t5, true]);
  });

  it('TestReserveJumpBackCancel', () => {
    const lim = newLimiter(10, 2);
    runReserve(lim, [t1, 2, t1, true]); // start at t1
    const r = runReserve(lim, [t1, 2, t3, true]);
    runReserve(lim, [t1, 1, t4, true]);
    r.cancelAt(t0); // cancel at t0, get 1 token back
    runReserve(lim, [t1, 2, t4, true]); // should violate Limit,Burst
  });

  it('TestReserveSetLimit', () => {
    const lim = newLimiter(5, 2);
    runReserve(lim, [t0, 2, t0, true]);
    runReserve(lim, [t0, 2, t4, true]);
    lim.setLimitAt(t2, 10);
    runReserve(lim, [t2, 1, t4, true]); // violates Limit and Burst
  });

  it('TestReserveSetBurst', () => {
    const lim = newLimiter(5, 2);
    runReserve(lim, [t0, 2, t0, true]);
    runReserve(lim, [t0, 2, t4, true]);
    lim.setBurstAt(t3, 4);
    runReserve(lim, [t0, 4, t9, true]); // violates Limit and Burst
  });

  it('TestReserveSetLimitCancel', () => {
    const lim = newLimiter(5, 2);
    runReserve(lim, [t0, 2, t0, true]);
    const r = runReserve(lim, [t0, 2, t4, true]);
    lim.setLimitAt(t2, 10);
    r.cancelAt(t2); // 2 tokens back
    runReserve(lim, [t2, 2, t3, true]);
  });

  it('TestReserveMax', () => {
    const lim = newLimiter(10, 2);
    const maxT = d;
    runReserveMax(lim, [t0, 2, t0, true], maxT);
    runReserveMax(lim, [t0, 1, t1, true], maxT); // reserve for close future
    runReserveMax(lim, [t0, 1, t2, false], maxT); // time to act too far in the future
  });
});

// Go's runWait: waitN on a FakeClock, driving fake time until the wait settles, then checking
// the outcome and the fake time it took (in multiples of d).
async function runWait(
  clock: FakeClock,
  lim: Limiter,
  name: string,
  signal: AbortSignal | undefined,
  n: number,
  delay: number,
  nilErr: boolean,
): Promise<unknown> {
  const start = clock.now();
  let settled = false;
  let err: unknown;
  const p = lim.waitN(n, signal).then(
    () => {
      settled = true;
    },
    (e: unknown) => {
      settled = true;
      err = e ?? new Error('rejected with undefined');
    },
  );
  await flush();
  for (let i = 0; i < 100 && !settled; i++) await clock.advanceAsync(d / 4);
  await p;
  expect(err === undefined, `${name}: error ${String(err)}`).toBe(nilErr);
  // Fake time moves in d/4 steps and the wait ends at its time to act, so the nearest d is exact.
  expect(dFromDuration(clock.now() - start), `${name}: delay in d`).toBe(delay);
  return err;
}

describe('rate waitN (ported from Go rate_test.go)', () => {
  it('TestWaitSimple', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(10, 3, clock);

    const ac = new AbortController();
    ac.abort(new Error('context canceled'));
    const e1 = await runWait(clock, lim, 'already-cancelled', ac.signal, 1, 0, false);
    expect(e1).toBe(ac.signal.reason);

    const e2 = await runWait(clock, lim, 'exceed-burst-error', undefined, 4, 0, false);
    expect(e2).toBeInstanceOf(LimiterBurstError);
    expect((e2 as Error).message).toBe("rate: Wait(n=4) exceeds limiter's burst 3");

    await runWait(clock, lim, 'act-now', undefined, 2, 0, true);
    await runWait(clock, lim, 'act-later', undefined, 3, 2, true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('TestWaitCancel', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(10, 3, clock);
    const ac = new AbortController();
    await runWait(clock, lim, 'act-now', ac.signal, 2, 0, true); // after this lim.tokens = 1
    clock.setTimeout(() => ac.abort(new Error('context canceled')), d);
    const err = await runWait(clock, lim, 'will-cancel', ac.signal, 3, 1, false);
    expect(err).toBe(ac.signal.reason);
    // should get 3 tokens back, and have lim.tokens = 2
    expect(lim.tokensAt(clock.now())).toBeCloseTo(2, 9);
    expect(clock.pendingTimers).toBe(0);
    await runWait(clock, lim, 'act-now-after-cancel', undefined, 2, 0, true);
  });

  it('TestWaitTimeout', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(10, 3, clock);
    const ac = new AbortController();
    setSignalDeadline(ac.signal, clock.now() + d);
    await runWait(clock, lim, 'act-now', ac.signal, 2, 0, true);
    const err = await runWait(clock, lim, 'w-timeout-err', ac.signal, 3, 0, false);
    expect(err).toBeInstanceOf(LimiterDeadlineError);
    expect((err as Error).message).toBe('rate: Wait(n=3) would exceed context deadline');
    // Nothing was consumed by the failed wait.
    expect(lim.tokensAt(clock.now())).toBeCloseTo(1, 9);
  });

  it('TestWaitInf', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(Inf, 0, clock);
    await runWait(clock, lim, 'exceed-burst-no-error', undefined, 3, 0, true);
  });

  it('TestZeroLimit', () => {
    const r = newLimiter(0, 1);
    expect(r.allow()).toBe(true); // want true when first used
    expect(r.allow()).toBe(false); // want false when already used
  });

  it('TestSetAfterZeroLimit', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(0, 1, clock);
    // The limiter starts off full, so even though the rate limit is 0 the first request is
    // allowed…
    expect(lim.allow()).toBe(true);
    // …the bucket is not being replenished though, so the second request does not succeed.
    expect(lim.allow()).toBe(false);
    lim.setLimit(10);
    // We set the limit to 10/s so expect to get another token in 100ms.
    await runWait(clock, lim, 'wait-after-set-nonzero-after-zero', undefined, 1, 1, true);
  });

  // A limiter does not allow more than burst when the rate is tiny (Go issue 71154).
  it('TestTinyLimit', () => {
    const lim = newLimiter(1e-10, 1);
    expect(lim.allow()).toBe(true);
    expect(lim.allow()).toBe(false);
  });
});

describe('rate: behaviour beyond the Go tests', () => {
  it('a limiter with limit 0 reserves with an infinite delay and waits until aborted', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(0, 1, clock);
    expect(lim.allow()).toBe(true);
    const r = lim.reserve();
    expect(r.ok()).toBe(true); // as in Go: the wait (InfDuration) is within the InfDuration bound
    expect(r.delay()).toBe(Number.POSITIVE_INFINITY);

    const ac = new AbortController();
    let outcome = 'pending';
    const p = lim.wait(ac.signal).then(
      () => (outcome = 'resolved'),
      () => (outcome = 'rejected'),
    );
    await clock.advanceAsync(1e12);
    expect(outcome).toBe('pending');
    expect(clock.pendingTimers).toBe(0); // no timer for an infinite wait
    ac.abort(new Error('stop'));
    await p;
    expect(outcome).toBe('rejected');
  });

  it('a deadline-bounded wait on a zero limit fails at once', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(0, 1, clock);
    lim.allow();
    const ac = new AbortController();
    setSignalDeadline(ac.signal, t0 + 1e9);
    await expect(lim.wait(ac.signal)).rejects.toBeInstanceOf(LimiterDeadlineError);
  });

  it('a reservation that is not ok has delay Infinity and cancel does nothing', () => {
    const lim = newLimiter(10, 1);
    const r = lim.reserveN(t0, 2);
    expect(r.ok()).toBe(false);
    expect(r.delayFrom(t0)).toBe(Number.POSITIVE_INFINITY);
    r.cancelAt(t0);
    expect(lim.tokensAt(t0)).toBe(1);
  });

  it('reserve() and delay() read the limiter clock', () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(10, 1, clock);
    expect(lim.reserve().delay()).toBe(0);
    const r = lim.reserve();
    expect(r.delay()).toBeCloseTo(100, 9);
    clock.advance(40);
    expect(r.delay()).toBeCloseTo(60, 9);
    r.cancel(); // at t0+40: both tokens of debt are undone except those earned meanwhile
    expect(lim.tokens()).toBeCloseTo(0.4, 9);
  });

  it('waitN resolves exactly at the time to act and leaves no timer or listener behind', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(4, 1, clock); // one token every 250 ms
    const ac = new AbortController();
    let added = 0;
    let removed = 0;
    const add = ac.signal.addEventListener.bind(ac.signal);
    const rm = ac.signal.removeEventListener.bind(ac.signal);
    ac.signal.addEventListener = ((...args: Parameters<typeof add>) => {
      added++;
      add(...args);
    }) as typeof add;
    ac.signal.removeEventListener = ((...args: Parameters<typeof rm>) => {
      removed++;
      rm(...args);
    }) as typeof rm;
    await lim.wait(ac.signal); // the first token is there
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 4; i++) {
        await lim.wait(ac.signal);
        times.push(clock.now() - t0);
      }
    })();
    await clock.advanceAsync(1000);
    await loop;
    expect(times).toEqual([250, 500, 750, 1000]);
    expect(clock.pendingTimers).toBe(0);
    expect(added).toBe(4);
    expect(removed).toBe(4);
  });

  it('a sub-millisecond wait still waits until its time to act', async () => {
    const clock = new FakeClock(t0);
    const lim = newLimiter(4000, 1, clock); // one token every 0.25 ms
    await lim.wait();
    let done = false;
    const p = lim.wait().then(() => (done = true));
    await flush();
    expect(done).toBe(false);
    await clock.advanceAsync(0.2);
    expect(done).toBe(false);
    await clock.advanceAsync(0.05);
    await p;
    expect(clock.now() - t0).toBeCloseTo(0.25, 9);
  });

  it('a pending wait keeps the process alive on the real clock (exit 0, not 13)', async () => {
    const { execFile } = await import('node:child_process');
    const script =
      "import { newLimiter } from './src/conc/rate.ts'; const lim = newLimiter(20, 1);" +
      "await lim.wait(); await lim.wait(); console.log('woke');";
    const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        { cwd: new URL('../..', import.meta.url).pathname, timeout: 20_000 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    expect(out).toEqual({ code: 0, stdout: 'woke\n' });
  });

  it('on the real clock a wait never ends before its time to act (Node timers can fire early)', async () => {
    const lim = newLimiter(1000, 1); // system clock: one token per ms
    const start = systemClock.now();
    expect(lim.allowN(start, 1)).toBe(true); // drained at `start`
    for (let k = 1; k <= 40; k++) {
      await lim.wait();
      // Tokens accrue from `start` at 1/ms, so the k-th token cannot be due before start + k ms.
      expect(systemClock.now()).toBeGreaterThanOrEqual(start + k - 1e-6);
    }
  });

  it('waitN fails at once with the burst error before looking at an aborted signal', async () => {
    const lim = newLimiter(10, 1);
    const ac = new AbortController();
    ac.abort();
    await expect(lim.waitN(2, ac.signal)).rejects.toBeInstanceOf(LimiterBurstError);
    await expect(lim.waitN(1, ac.signal)).rejects.toBe(ac.signal.reason);
  });

  it('setBurstAt raises the cap; tokens accrue to the new burst', () => {
    const lim = newLimiter(10, 1);
    lim.allowN(t0, 1);
    lim.setBurstAt(t0, 5);
    expect(lim.burst()).toBe(5);
    expect(lim.tokensAt(t0 + 1000)).toBe(5);
    expect(lim.limit()).toBe(10);
  });

  it('rejects non-integer n and burst', () => {
    expect(() => newLimiter(1, 1.5)).toThrow(RangeError);
    expect(() => newLimiter(1, 1).allowN(t0, 0.5)).toThrow(RangeError);
  });

  it('property: allowN never admits more than burst + limit × elapsed', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 50, noNaN: true }), fc.integer({ min: 1, max: 5 })), {
          maxLength: 300,
        }),
        (limit, burst, steps) => {
          const lim = newLimiter(limit, burst);
          let t = t0;
          let admitted = 0;
          for (const [dt, n] of steps) {
            t += dt;
            if (lim.allowN(t, n)) admitted += n;
            expect(admitted).toBeLessThanOrEqual(burst + (limit * (t - t0)) / 1000 + 1e-6);
          }
        },
      ),
    );
  });

  it('property: cancelling the latest reservation before it acts restores the tokens', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        (limit, burst, n0, dt) => {
          const lim = newLimiter(limit, burst);
          lim.allowN(t0, Math.min(n0, burst));
          const t = t0 + dt;
          const before = lim.tokensAt(t);
          const r = lim.reserveN(t, burst);
          r.cancelAt(t);
          expect(lim.tokensAt(t)).toBeCloseTo(before, 6);
        },
      ),
    );
  });
});
