// Go's golang.org/x/time/rate sometimes_test.go, ported: the Examples become tests of their
// printed output, and Interval runs on a FakeClock instead of time.Sleep.
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/conc/clock.js';
import { Sometimes } from '../../src/conc/sometimes.js';

function record(s: Sometimes, out: string[], label: string): void {
  s.do(() => out.push(label));
}

describe('Sometimes (ported from Go sometimes_test.go)', () => {
  it('ExampleSometimes_once', () => {
    // The zero value of Sometimes behaves like sync.Once, though less efficiently.
    const s = new Sometimes();
    const out: string[] = [];
    for (const l of ['1', '2', '3']) record(s, out, l);
    expect(out).toEqual(['1']);
  });

  it('ExampleSometimes_first', () => {
    const s = new Sometimes({ first: 2 });
    const out: string[] = [];
    for (const l of ['1', '2', '3']) record(s, out, l);
    expect(out).toEqual(['1', '2']);
  });

  it('ExampleSometimes_every', () => {
    const s = new Sometimes({ every: 2 });
    const out: string[] = [];
    for (const l of ['1', '2', '3']) record(s, out, l);
    expect(out).toEqual(['1', '3']);
  });

  it('ExampleSometimes_interval', () => {
    const clock = new FakeClock(1_000);
    const s = new Sometimes({ interval: 1000 }, clock);
    const out: string[] = [];
    record(s, out, '1');
    record(s, out, '2');
    clock.advance(1000);
    record(s, out, '3');
    expect(out).toEqual(['1', '3']);
  });

  it('ExampleSometimes_mix', () => {
    const clock = new FakeClock(1_000);
    const s = new Sometimes({ first: 2, every: 2, interval: 2000 }, clock);
    const out: string[] = [];
    record(s, out, '1 (First:2)');
    record(s, out, '2 (First:2)');
    record(s, out, '3 (Every:2)');
    clock.advance(2000);
    record(s, out, '4 (Interval)');
    record(s, out, '5 (Every:2)');
    record(s, out, '6');
    expect(out).toEqual(['1 (First:2)', '2 (First:2)', '3 (Every:2)', '4 (Interval)', '5 (Every:2)']);
  });

  it('TestSometimesZero', () => {
    const s = new Sometimes({ interval: 0 });
    let runs = 0;
    s.do(() => runs++);
    s.do(() => runs++);
    expect(runs).toBe(1);
  });

  it('TestSometimesMax', () => {
    const s = new Sometimes({ interval: Number.MAX_SAFE_INTEGER });
    let runs = 0;
    s.do(() => runs++);
    s.do(() => runs++);
    expect(runs).toBe(1);
  });

  it('TestSometimesNegative', () => {
    const s = new Sometimes({ interval: -1 });
    let runs = 0;
    s.do(() => runs++);
    s.do(() => runs++);
    expect(runs).toBe(1);
  });
});

describe('Sometimes: behaviour beyond the Go tests', () => {
  it('interval is measured from when the action last ran, after it returned', () => {
    const clock = new FakeClock(0);
    const s = new Sometimes({ interval: 100 }, clock);
    const ran: number[] = [];
    s.do(() => {
      ran.push(clock.now());
      clock.advance(30); // the action itself takes 30 ms
    });
    clock.advance(99);
    s.do(() => ran.push(clock.now())); // 99 ms after it returned: too soon
    clock.advance(1);
    s.do(() => ran.push(clock.now()));
    expect(ran).toEqual([0, 130]);
  });

  it('a throwing action propagates and is not counted', () => {
    const s = new Sometimes();
    expect(() =>
      s.do(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    let runs = 0;
    s.do(() => runs++); // still the "first" call, as in Go where a panic skips count++
    s.do(() => runs++);
    expect(runs).toBe(1);
  });

  it('a reentrant do throws instead of deadlocking', () => {
    const s = new Sometimes({ every: 1 });
    expect(() => s.do(() => s.do(() => {}))).toThrow(/within its own action/);
    let runs = 0;
    s.do(() => runs++);
    expect(runs).toBe(1);
  });
});
