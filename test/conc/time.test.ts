import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conc/channel.js';
import { type Clock, FakeClock, systemClock, type TimerHandle } from '../../src/conc/clock.js';
import { recvCase, select } from '../../src/conc/select.js';
// `after` is aliased: Biome would take a bare `after(...)` call for a test hook.
import { after as afterMs, newTicker, newTimer, sleep, Ticker, Timer } from '../../src/conc/time.js';
import { runNode } from '../helpers/run-node.js';
import { track } from '../helpers/track.js';

/** A clock whose timers fire only when the test says, at whatever "now" the test chooses. */
class ManualClock implements Clock {
  t = 0;
  timers: { fn: () => void; ms: number }[] = [];
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h = { fn, ms };
    this.timers.push(h);
    return h;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((h) => h !== handle);
  }
  /** Fires the oldest pending timer at time `at`. */
  fireAt(at: number): void {
    this.t = at;
    const h = this.timers.shift()!;
    h.fn();
  }
}

describe('after', () => {
  it('delivers clock.now() once at the due time and releases its timer', async () => {
    const clock = new FakeClock(1000);
    const c = afterMs(50, clock);
    expect(clock.pendingTimers).toBe(1);
    expect(c.capacity).toBe(1);
    clock.advance(49);
    expect(c.tryRecv()).toBeUndefined();
    clock.advance(1);
    expect(clock.pendingTimers).toBe(0);
    expect(await c.recv()).toEqual({ value: 1050, ok: true });
    // Never closed (Go): a second receive would block forever.
    expect(c.closed).toBe(false);
    clock.advance(1000);
    expect(c.tryRecv()).toBeUndefined();
  });

  it('works as a select timeout', async () => {
    const clock = new FakeClock();
    const data = new Channel<string>();
    const s = track(select([recvCase(data), recvCase(afterMs(100, clock))]));
    await clock.advanceAsync(99);
    expect(s.settled).toBe(false);
    await clock.advanceAsync(1);
    expect(s.value).toEqual({ index: 1, value: 100, ok: true });
    expect(data.trySend('late')).toBe(false); // the select withdrew from data
  });

  it('a zero or negative delay fires on the next timer run', () => {
    const clock = new FakeClock(5);
    const c = afterMs(-10, clock);
    expect(c.tryRecv()).toBeUndefined();
    clock.advance(0);
    expect(c.tryRecv()).toEqual({ value: 5, ok: true });
  });

  it('fires with the real clock', async () => {
    const t0 = systemClock.now();
    const r = await afterMs(15).recv();
    expect(r.ok).toBe(true);
    expect(r.value!).toBeGreaterThanOrEqual(t0 + 10);
  });

  it('arms delays beyond the host timer limit in chunks', () => {
    const clock = new FakeClock(0);
    const max = 2 ** 31 - 1;
    const c = afterMs(3 * max, clock);
    clock.advance(max);
    expect(c.tryRecv()).toBeUndefined();
    expect(clock.pendingTimers).toBe(1);
    clock.advance(2 * max - 1);
    expect(c.tryRecv()).toBeUndefined();
    clock.advance(1);
    expect(c.tryRecv()).toEqual({ value: 3 * max, ok: true });
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects NaN', () => {
    expect(() => afterMs(Number.NaN)).toThrow(RangeError);
  });
});

describe('Timer', () => {
  it('stop before firing prevents it and releases the timer', () => {
    const clock = new FakeClock();
    const t = newTimer(10, clock);
    expect(t).toBeInstanceOf(Timer);
    expect(t.stop()).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    clock.advance(100);
    expect(t.c.tryRecv()).toBeUndefined();
    expect(t.stop()).toBe(false);
  });

  it('stop after firing returns false and discards the unreceived value', () => {
    const clock = new FakeClock();
    const t = newTimer(10, clock);
    clock.advance(10);
    expect(t.c.length).toBe(1);
    expect(t.stop()).toBe(false);
    expect(t.c.tryRecv()).toBeUndefined();
  });

  it('reset re-arms from now and reports whether it was pending', () => {
    const clock = new FakeClock();
    const t = newTimer(10, clock);
    clock.advance(5);
    expect(t.reset(10)).toBe(true);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(9);
    expect(t.c.tryRecv()).toBeUndefined();
    clock.advance(1);
    expect(t.c.tryRecv()).toEqual({ value: 15, ok: true });
    expect(t.reset(3)).toBe(false);
    clock.advance(3);
    expect(t.c.tryRecv()).toEqual({ value: 18, ok: true });
    // A fired-but-unreceived value is discarded by reset.
    clock.advance(0);
    t.reset(1);
    clock.advance(0);
    expect(t.c.tryRecv()).toBeUndefined();
  });
});

describe('Ticker', () => {
  it('ticks every period with the tick time', async () => {
    const clock = new FakeClock(0);
    const t = newTicker(100, clock);
    expect(t).toBeInstanceOf(Ticker);
    expect(t.c.capacity).toBe(1);
    const got: number[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(100);
      got.push((await t.c.recv()).value!);
    }
    expect(got).toEqual([100, 200, 300, 400, 500]);
    t.stop();
  });

  it('drops ticks for a slow receiver (buffer 1) and keeps its phase', async () => {
    const clock = new FakeClock(0);
    const t = newTicker(100, clock);
    clock.advance(350); // ticks at 100, 200, 300: only the first is kept
    expect(t.c.length).toBe(1);
    expect(t.c.tryRecv()).toEqual({ value: 100, ok: true });
    expect(t.c.tryRecv()).toBeUndefined();
    clock.advance(50);
    expect(t.c.tryRecv()).toEqual({ value: 400, ok: true });
    t.stop();
  });

  it('skips missed grid points when the host fires late', () => {
    const clock = new ManualClock();
    const t = newTicker(100, clock);
    expect(clock.timers.map((h) => h.ms)).toEqual([100]);
    clock.fireAt(250); // 150 ms late: grid point 200 is skipped
    expect(t.c.tryRecv()).toEqual({ value: 250, ok: true });
    expect(clock.timers.map((h) => h.ms)).toEqual([50]); // next due at 300
    clock.fireAt(300);
    expect(clock.timers.map((h) => h.ms)).toEqual([100]);
    t.stop();
    expect(clock.timers).toEqual([]);
  });

  it('stop releases the timer, sends nothing more and discards an unreceived tick', () => {
    const clock = new FakeClock(0);
    const t = newTicker(10, clock);
    clock.advance(10);
    t.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(t.c.tryRecv()).toBeUndefined();
    clock.advance(1000);
    expect(t.c.tryRecv()).toBeUndefined();
    expect(t.c.closed).toBe(false);
    t.stop(); // idempotent
  });

  it('reset changes the period and restarts a stopped ticker', () => {
    const clock = new FakeClock(0);
    const t = newTicker(10, clock);
    clock.advance(5);
    t.reset(30);
    clock.advance(29);
    expect(t.c.tryRecv()).toBeUndefined();
    clock.advance(1);
    expect(t.c.tryRecv()).toEqual({ value: 35, ok: true });
    t.stop();
    t.reset(5);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(5);
    expect(t.c.tryRecv()).toEqual({ value: 40, ok: true });
    t.stop();
  });

  it('rejects non-positive or invalid periods with RangeError', () => {
    const clock = new FakeClock();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => newTicker(bad, clock)).toThrow(RangeError);
    }
    const t = newTicker(1, clock);
    expect(() => t.reset(0)).toThrow(RangeError);
    t.stop();
  });

  it('ticks with the real clock and can be ranged over', async () => {
    const t = newTicker(5);
    let n = 0;
    for await (const _ of t.c) if (++n === 3) break;
    t.stop();
    expect(n).toBe(3);
  });
});

describe('sleep', () => {
  it('resolves after ms on the clock and releases its timer', async () => {
    const clock = new FakeClock();
    const s = track(sleep(100, undefined, clock));
    await clock.advanceAsync(99);
    expect(s.settled).toBe(false);
    await clock.advanceAsync(1);
    expect(s.settled).toBe(true);
    expect(s.error).toBeUndefined();
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with the reason on abort, clearing the timer and the listener', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const s = track(sleep(100, ac.signal, clock));
    expect(getEventListeners(ac.signal, 'abort').length).toBe(1);
    ac.abort('stop');
    await s.done;
    expect(s.error).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
  });

  it('rejects at once on an already-aborted signal without arming a timer', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    ac.abort('early');
    await expect(sleep(10, ac.signal, clock)).rejects.toBe('early');
    expect(clock.pendingTimers).toBe(0);
  });

  it('does not accumulate listeners on a long-lived signal', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    for (let i = 0; i < 2000; i++) {
      const p = sleep(1, ac.signal, clock);
      clock.advance(1);
      await p;
    }
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
  });

  it('sleeps with the real clock', async () => {
    const t0 = performance.now();
    await sleep(20);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
  });
});

/** Runs `code` (an ES module importing time.ts as TIME) in a fresh Node; returns stdout and exit code. */
async function runTime(code: string): Promise<{ out: string; code: number | null }> {
  const timePath = JSON.stringify(new URL('../../src/conc/time.ts', import.meta.url).pathname);
  const r = await runNode(`import * as TIME from ${timePath};`, code);
  return { out: r.out.join('\n'), code: r.code };
}

describe('liveness (which timers keep Node running)', () => {
  it('a real sleep keeps the process alive until it ends', async () => {
    expect(await runTime(`await TIME.sleep(50); console.log('woke');`)).toEqual({ out: 'woke', code: 0 });
  });

  it('a real ticker keeps the process alive while it runs', async () => {
    const code = `const t = TIME.newTicker(20); let n = 0;
for await (const _ of t.c) if (++n === 3) break;
t.stop(); console.log('ticked ' + n);`;
    expect(await runTime(code)).toEqual({ out: 'ticked 3', code: 0 });
  });

  it('a pending after() timeout does not hold a finished program open', async () => {
    const code = `TIME.after(60_000); TIME.newTimer(60_000); console.log('done');`;
    expect(await runTime(code)).toEqual({ out: 'done', code: 0 });
  });
});
