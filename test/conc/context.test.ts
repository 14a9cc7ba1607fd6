import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import {
  background,
  CanceledError,
  cause,
  DeadlineExceededError,
  err,
  isCanceled,
  isDeadlineExceeded,
  liveChildren,
  withCancel,
  withDeadline,
  withTimeout,
} from '../../src/conc/context.js';
import { deadlineKey, signalDeadline } from '../../src/conc/deadline.js';
import { withContext } from '../../src/conc/errgroup.js';
import { LimiterDeadlineError, newLimiter } from '../../src/conc/rate.js';

describe('background', () => {
  it('is one never-aborted signal without a deadline', () => {
    expect(background()).toBe(background());
    expect(background().aborted).toBe(false);
    expect(signalDeadline(background())).toBeUndefined();
  });

  it('registers nothing for children derived from it', () => {
    const c = withCancel(background());
    expect(getEventListeners(background(), 'abort')).toHaveLength(0);
    c.cancel();
    expect(c.signal.aborted).toBe(true);
  });
});

describe('withCancel', () => {
  it('cancel aborts with a CanceledError, once', () => {
    const { signal, cancel } = withCancel();
    let events = 0;
    signal.addEventListener('abort', () => events++);
    expect(signal.aborted).toBe(false);
    cancel();
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(CanceledError);
    expect((signal.reason as Error).message).toBe('context canceled');
    expect(isCanceled(signal.reason)).toBe(true);
    const first = signal.reason;
    cancel(new Error('later'));
    expect(signal.reason).toBe(first);
    expect(events).toBe(1);
  });

  it('cancel with a reason uses it as the cause', () => {
    const why = new Error('why');
    const { signal, cancel } = withCancel();
    cancel(why);
    expect(cause(signal)).toBe(why);
    expect(isCanceled(why)).toBe(false);
  });

  it('cause is undefined while not aborted', () => {
    expect(cause(withCancel().signal)).toBeUndefined();
  });

  it('a parent abort reaches children and grandchildren with the parent reason', () => {
    const root = new AbortController();
    const child = withCancel(root.signal);
    const grand = withCancel(child.signal);
    const sibling = withCancel(root.signal);
    let parentAbortedFirst = false;
    grand.signal.addEventListener('abort', () => {
      parentAbortedFirst = child.signal.aborted && root.signal.aborted;
    });
    const why = new Error('shutdown');
    root.abort(why);
    expect(child.signal.reason).toBe(why);
    expect(grand.signal.reason).toBe(why);
    expect(sibling.signal.reason).toBe(why);
    expect(parentAbortedFirst).toBe(true);
    expect(getEventListeners(root.signal, 'abort')).toHaveLength(0);
  });

  it('cancelling a child does not touch the parent or siblings', () => {
    const parent = withCancel();
    const a = withCancel(parent.signal);
    const b = withCancel(parent.signal);
    a.cancel();
    expect(parent.signal.aborted).toBe(false);
    expect(b.signal.aborted).toBe(false);
    expect(liveChildren(parent.signal)).toBe(1);
    b.cancel();
    expect(liveChildren(parent.signal)).toBe(0);
    parent.cancel();
  });

  it('an already-aborted parent gives an already-aborted child', () => {
    const why = new Error('gone');
    const parent = AbortSignal.abort(why);
    const c = withCancel(parent);
    expect(c.signal.aborted).toBe(true);
    expect(c.signal.reason).toBe(why);
  });

  it('inherits the deadline record of the parent', () => {
    const clock = new FakeClock(1000);
    const p = withTimeout(undefined, 50, clock);
    const c = withCancel(p.signal);
    expect(signalDeadline(c.signal)).toBe(1050);
    c.cancel();
    p.cancel();
  });

  it('100k short-lived children leave no listener on a long-lived parent', () => {
    const parent = new AbortController();
    for (let i = 0; i < 100_000; i++) {
      const c = withCancel(parent.signal);
      if (i % 1000 === 0) expect(getEventListeners(parent.signal, 'abort').length).toBe(1);
      c.cancel();
    }
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    expect(liveChildren(parent.signal)).toBe(0);
  });

  it('many live children share one parent listener (no MaxListeners warning)', () => {
    const parent = new AbortController();
    const kids = Array.from({ length: 1000 }, () => withCancel(parent.signal));
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(1);
    expect(liveChildren(parent.signal)).toBe(1000);
    parent.abort();
    expect(kids.every((k) => k.signal.aborted && isCanceled(k.signal.reason))).toBe(true);
  });
});

describe('withDeadline / withTimeout', () => {
  it('aborts with DeadlineExceededError when the clock reaches the deadline', () => {
    const clock = new FakeClock(0);
    const { signal, cancel } = withTimeout(undefined, 100, clock);
    expect(signalDeadline(signal)).toBe(100);
    clock.advance(99);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect((signal.reason as Error).message).toBe('context deadline exceeded');
    expect(isDeadlineExceeded(signal.reason)).toBe(true);
    expect(isCanceled(signal.reason)).toBe(false);
    expect(clock.pendingTimers).toBe(0);
    cancel();
    expect(signal.reason).toBeInstanceOf(DeadlineExceededError);
  });

  it('cancel before the deadline gives CanceledError and clears the timer', () => {
    const clock = new FakeClock(0);
    const { signal, cancel } = withDeadline(undefined, 500, clock);
    expect(clock.pendingTimers).toBe(1);
    cancel();
    expect(clock.pendingTimers).toBe(0);
    expect(isCanceled(signal.reason)).toBe(true);
    clock.advance(1000);
    expect(isCanceled(signal.reason)).toBe(true);
  });

  it('a deadline already past aborts at once', () => {
    const clock = new FakeClock(1000);
    const { signal } = withDeadline(undefined, 999, clock);
    expect(signal.aborted).toBe(true);
    expect(isDeadlineExceeded(signal.reason)).toBe(true);
    expect(withTimeout(undefined, 0, clock).signal.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it("the child's deadline is the earlier of the parent's and its own", () => {
    const clock = new FakeClock(0);
    const parent = withTimeout(undefined, 100, clock);
    const later = withTimeout(parent.signal, 500, clock);
    const sooner = withTimeout(parent.signal, 40, clock);
    expect(signalDeadline(later.signal)).toBe(100);
    expect(signalDeadline(sooner.signal)).toBe(40);
    // The later child needs no timer of its own: the parent's abort reaches it.
    expect(clock.pendingTimers).toBe(2);
    clock.advance(40);
    expect(isDeadlineExceeded(sooner.signal.reason)).toBe(true);
    expect(later.signal.aborted).toBe(false);
    clock.advance(60);
    expect(isDeadlineExceeded(parent.signal.reason)).toBe(true);
    expect(later.signal.reason).toBe(parent.signal.reason);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a parent abort clears the child timer', () => {
    const clock = new FakeClock(0);
    const parent = new AbortController();
    const c = withTimeout(parent.signal, 100, clock);
    parent.abort(new Error('stop'));
    expect(clock.pendingTimers).toBe(0);
    expect((c.signal.reason as Error).message).toBe('stop');
  });

  it('+Infinity means no deadline; NaN is refused', () => {
    const clock = new FakeClock(0);
    const c = withTimeout(undefined, Number.POSITIVE_INFINITY, clock);
    expect(signalDeadline(c.signal)).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
    expect(() => withDeadline(undefined, Number.NaN, clock)).toThrow(RangeError);
  });

  it('records the deadline under the shared registered symbol', () => {
    const clock = new FakeClock(10);
    const c = withTimeout(undefined, 5, clock);
    expect((c.signal as unknown as Record<symbol, number>)[Symbol.for('trawl.conc.deadline')]).toBe(15);
    expect(deadlineKey).toBe(Symbol.for('trawl.conc.deadline'));
    c.cancel();
  });

  it('100k timed children cancelled early leave no timers and no listeners', () => {
    const clock = new FakeClock(0);
    const parent = new AbortController();
    for (let i = 0; i < 100_000; i++) {
      const c = withTimeout(parent.signal, 1000, clock);
      c.cancel();
    }
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('timed-out children detach from the parent by themselves', () => {
    const clock = new FakeClock(0);
    const parent = new AbortController();
    for (let i = 0; i < 1000; i++) withTimeout(parent.signal, 10, clock);
    expect(liveChildren(parent.signal)).toBe(1000);
    clock.advance(10);
    expect(liveChildren(parent.signal)).toBe(0);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
  });

  it('lets rate.Limiter.waitN fail at once when the wait would pass the deadline (as in Go)', async () => {
    const clock = new FakeClock(0);
    const lim = newLimiter(1, 1, clock); // one event per second, burst 1
    await lim.waitN(1); // takes the burst
    const short = withTimeout(undefined, 500, clock);
    await expect(lim.waitN(1, short.signal)).rejects.toBeInstanceOf(LimiterDeadlineError);
    const long = withTimeout(undefined, 2000, clock);
    const ok = lim.waitN(1, long.signal);
    await clock.advanceAsync(1000);
    await ok;
    short.cancel();
    long.cancel();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a deadline beyond 2^31-1 ms is armed in chunks (a Node timer would clamp it to 1 ms)', () => {
    const fake = new FakeClock(0);
    const delays: number[] = [];
    const clock = {
      now: () => fake.now(),
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return fake.setTimeout(fn, ms);
      },
      clearTimeout: (h: object) => fake.clearTimeout(h),
    };
    const day = 86_400_000;
    const c = withTimeout(undefined, 30 * day, clock);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
    fake.advance(29 * day);
    expect(c.signal.aborted).toBe(false);
    fake.advance(day);
    expect(c.signal.reason).toBeInstanceOf(DeadlineExceededError);
    expect(Math.max(...delays)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('works on the real clock', async () => {
    const { signal } = withTimeout(undefined, 5);
    await new Promise((resolve) => signal.addEventListener('abort', resolve));
    expect(isDeadlineExceeded(signal.reason)).toBe(true);
  });
});

describe('isCanceled / isDeadlineExceeded', () => {
  it('recognise the platform errors too', () => {
    const c = new AbortController();
    c.abort();
    expect(isCanceled(c.signal.reason)).toBe(true);
    expect(isDeadlineExceeded(new DOMException('t', 'TimeoutError'))).toBe(true);
    expect(isCanceled(new Error('x'))).toBe(false);
    expect(isDeadlineExceeded(undefined)).toBe(false);
    expect(new DeadlineExceededError().timeout).toBe(true);
  });
});

describe("err (Go's ctx.Err) next to cause (Go's context.Cause)", () => {
  // After Go's context tests: TestCause's table (context/x_test.go), TestWithCancelCanceledParent
  // and errgroup's WithContext. Go keeps ctx.Err() (Canceled or DeadlineExceeded) apart from
  // context.Cause(ctx) (the error given to the cancel function, or Err() when none was).
  const why = new Error('Because!');

  it('TestCause: not done → err and cause are both undefined (Go: nil, nil)', () => {
    const c = withTimeout(undefined, 1000, new FakeClock(0));
    expect(err(c.signal)).toBeUndefined();
    expect(cause(c.signal)).toBeUndefined();
    expect(err(background())).toBeUndefined();
  });

  it('TestCause "With canceled": cancel() → err and cause are the same CanceledError', () => {
    const c = withCancel();
    c.cancel();
    expect(err(c.signal)).toBeInstanceOf(CanceledError);
    expect(cause(c.signal)).toBe(err(c.signal));
  });

  it('TestWithCancelCause: cancel(cause) → err is Canceled, cause is the given error', () => {
    const c = withCancel();
    c.cancel(why);
    expect(err(c.signal)).toBeInstanceOf(CanceledError);
    expect(isCanceled(err(c.signal))).toBe(true);
    expect(cause(c.signal)).toBe(why);
    expect(isCanceled(c.signal.reason)).toBe(false); // the reason is the cause: use err() to decide
    expect(err(c.signal)).toBe(err(c.signal)); // one object per signal, like Go's sentinel
  });

  it('TestCause "With timeout": a passed deadline → err and cause are the same DeadlineExceededError', () => {
    const clock = new FakeClock(0);
    const c = withTimeout(undefined, 10, clock);
    clock.advance(10);
    expect(err(c.signal)).toBeInstanceOf(DeadlineExceededError);
    expect(isDeadlineExceeded(err(c.signal))).toBe(true);
    expect(cause(c.signal)).toBe(err(c.signal));
    const past = withTimeout(undefined, 0, clock);
    expect(err(past.signal)).toBeInstanceOf(DeadlineExceededError);
  });

  it('TestCause "With timeout, then cancel cause": cancelling after the deadline changes neither', () => {
    const clock = new FakeClock(0);
    const c = withTimeout(undefined, 10, clock);
    clock.advance(10);
    c.cancel(why);
    expect(err(c.signal)).toBeInstanceOf(DeadlineExceededError);
    expect(cause(c.signal)).toBeInstanceOf(DeadlineExceededError);
  });

  it('TestCause "With cancel cause, then timeout": a cancel before the deadline wins for both', () => {
    const clock = new FakeClock(0);
    const c = withTimeout(undefined, 10, clock);
    c.cancel(why);
    clock.advance(10);
    expect(err(c.signal)).toBeInstanceOf(CanceledError);
    expect(cause(c.signal)).toBe(why);
  });

  it('TestWithCancelCanceledParent: a child of a parent cancelled with a cause has err Canceled, cause the parent’s', () => {
    const parent = withCancel();
    parent.cancel(why);
    const born = withCancel(parent.signal); // already aborted at construction
    expect(err(born.signal)).toBeInstanceOf(CanceledError);
    expect(cause(born.signal)).toBe(why);

    const p2 = withCancel();
    const live = withCancel(p2.signal);
    const grand = withTimeout(live.signal, 1000, new FakeClock(0));
    p2.cancel(why);
    for (const s of [live.signal, grand.signal]) {
      expect(err(s)).toBe(err(p2.signal)); // the parent's err, as in Go
      expect(cause(s)).toBe(why);
    }
  });

  it('TestCause "With parent timeout": a child aborted by its parent’s deadline has err DeadlineExceeded', () => {
    const clock = new FakeClock(0);
    const parent = withTimeout(undefined, 10, clock);
    const child = withCancel(parent.signal);
    const later = withTimeout(parent.signal, 1000, clock); // the parent's deadline is earlier
    clock.advance(10);
    for (const s of [child.signal, later.signal]) {
      expect(err(s)).toBeInstanceOf(DeadlineExceededError);
      expect(cause(s)).toBe(parent.signal.reason);
    }
  });

  it('errgroup.WithContext: a failing task makes err Canceled and cause the task’s error', async () => {
    const { group, signal } = withContext();
    const boom = new Error('boom');
    group.go(async () => {
      throw boom;
    });
    await expect(group.wait()).rejects.toBe(boom);
    expect(err(signal)).toBeInstanceOf(CanceledError);
    expect(isCanceled(err(signal))).toBe(true);
    expect(cause(signal)).toBe(boom);
  });

  it('a foreign signal: the kind is read from the reason', () => {
    const a = new AbortController();
    a.abort(why);
    expect(err(a.signal)).toBeInstanceOf(CanceledError);
    const t = new AbortController();
    t.abort(new DOMException('t', 'TimeoutError'));
    expect(err(t.signal)).toBeInstanceOf(DeadlineExceededError);
    expect(err(t.signal)).toBe(err(t.signal));
    const child = withCancel(t.signal);
    expect(err(child.signal)).toBe(err(t.signal));
  });
});
