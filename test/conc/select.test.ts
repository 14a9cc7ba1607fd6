import { getEventListeners } from 'node:events';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Channel } from '../../src/conc/channel.js';
import { FakeClock, flush } from '../../src/conc/clock.js';
import { DeadlineExceededError, withTimeout } from '../../src/conc/context.js';
import { ChannelClosedError } from '../../src/conc/errors.js';
import {
  type AnySelectResult,
  recvCase,
  type SelectCase,
  select,
  sendCase,
  trySelect,
} from '../../src/conc/select.js';
import { kWaiting } from '../../src/conc/waitqueue.js';
import { track } from '../helpers/track.js';

const idle = { senders: 0, receivers: 0 };

describe('select: ready cases', () => {
  it('performs a ready receive case', async () => {
    const a = new Channel<number>(1);
    const b = new Channel<string>(1);
    await b.send('hi');
    const r = await select([recvCase(a), recvCase(b)]);
    expect(r).toEqual({ index: 1, value: 'hi', ok: true });
    expect(b.length).toBe(0);
  });

  it('performs a ready send case', async () => {
    const a = new Channel<number>(1);
    const b = new Channel<number>();
    const r = await select([recvCase(b), sendCase(a, 42)]);
    expect(r).toEqual({ index: 1, value: undefined, ok: true });
    expect(a.tryRecv()).toEqual({ value: 42, ok: true });
  });

  it('a receive case on a closed, drained channel is ready with ok:false', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    a.close();
    expect(await select([recvCase(a), recvCase(b)])).toEqual({ index: 0, value: undefined, ok: false });
  });

  it('chooses uniformly among ready cases (each within ±3 percentage points over 10k)', async () => {
    const chs = [0, 1, 2, 3].map(() => new Channel<number>(1));
    for (const ch of chs) ch.trySend(0);
    const counts = [0, 0, 0, 0];
    const cases = chs.map((ch) => recvCase(ch));
    for (let i = 0; i < 10_000; i++) {
      const r = await select(cases);
      counts[r.index]!++;
      chs[r.index]!.trySend(0);
    }
    for (const c of counts) expect(Math.abs(c / 10_000 - 0.25)).toBeLessThan(0.03);
  });

  it('is uniform also when the ready cases are not adjacent (no "random start" bias)', () => {
    // Ready: 0 and 3 only. Scanning from a random start would pick 0 three times out of four.
    const a = new Channel<number>(1);
    const d = new Channel<number>(1);
    const never = new Channel<number>();
    const cases = [recvCase(a), recvCase(never), recvCase(null), recvCase(d)] as const;
    a.trySend(0);
    d.trySend(0);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 10_000; i++) {
      const r = trySelect(cases)!;
      counts[r.index]!++;
      (r.index === 0 ? a : d).trySend(0);
    }
    expect(counts[1]).toBe(0);
    expect(counts[2]).toBe(0);
    expect(Math.abs(counts[0]! / 10_000 - 0.5)).toBeLessThan(0.03);
    expect(Math.abs(counts[3]! / 10_000 - 0.5)).toBeLessThan(0.03);
  });

  it('mixes send and receive cases in the random choice', () => {
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const a = new Channel<number>(1);
      const b = new Channel<number>(1);
      b.trySend(1);
      const r = trySelect([sendCase(a, 1), recvCase(b)])!;
      counts[r.index]!++;
      // Exactly one happened.
      expect(a.length + b.length).toBe(r.index === 0 ? 2 : 0);
    }
    expect(Math.abs(counts[0]! / 4000 - 0.5)).toBeLessThan(0.05);
  });
});

describe('select: blocking', () => {
  it('waits until a case can proceed and withdraws the others atomically', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const c = new Channel<number>(1);
    await c.send(0); // c is full: the send case blocks
    const s = track(select([recvCase(a), recvCase(b), sendCase(c, 99)]));
    await flush();
    expect(s.settled).toBe(false);
    expect(a[kWaiting]).toEqual({ senders: 0, receivers: 1 });
    expect(c[kWaiting]).toEqual({ senders: 1, receivers: 0 });
    expect(b.trySend(5)).toBe(true);
    await s.done;
    expect(s.value).toEqual({ index: 1, value: 5, ok: true });
    // Losing cases are gone: nothing waits on a or c, and 99 was never sent.
    expect(a[kWaiting]).toEqual(idle);
    expect(c[kWaiting]).toEqual(idle);
    expect(a.trySend(1)).toBe(false);
    expect(c.tryRecv()).toEqual({ value: 0, ok: true });
    expect(c.tryRecv()).toBeUndefined();
  });

  it('a blocked send case completes when a receiver frees buffer space', async () => {
    const c = new Channel<number>(1);
    await c.send(1);
    const other = new Channel<number>();
    const s = track(select([sendCase(c, 2), recvCase(other)]));
    expect(await c.recv()).toEqual({ value: 1, ok: true });
    await s.done;
    expect(s.value).toEqual({ index: 0, value: undefined, ok: true });
    expect(c.tryRecv()).toEqual({ value: 2, ok: true });
    expect(other[kWaiting]).toEqual(idle);
  });

  it('takes exactly one of several blocked senders; the other sender keeps its value', async () => {
    const a = new Channel<string>();
    const b = new Channel<string>();
    const sa = track(a.send('A'));
    const sb = track(b.send('B'));
    const r = await select([recvCase(a), recvCase(b)]);
    await flush();
    const [won, lost, lostName] = r.index === 0 ? [sa, sb, 'B'] : [sb, sa, 'A'];
    expect(r.value).toBe(r.index === 0 ? 'A' : 'B');
    expect(won.settled).toBe(true);
    expect(lost.settled).toBe(false);
    expect((await (r.index === 0 ? b : a).recv()).value).toBe(lostName);
  });

  it('two selects on each other’s channels rendezvous', async () => {
    const ch = new Channel<number>();
    const quietA = new Channel<number>();
    const quietB = new Channel<number>();
    const sender = track(select([sendCase(ch, 7), recvCase(quietA)]));
    const receiver = track(select([recvCase(quietB), recvCase(ch)]));
    await Promise.all([sender.done, receiver.done]);
    expect(sender.value).toEqual({ index: 0, value: undefined, ok: true });
    expect(receiver.value).toEqual({ index: 1, value: 7, ok: true });
    for (const c of [ch, quietA, quietB]) expect(c[kWaiting]).toEqual(idle);
  });

  it('two blocked selects are matched by a third party without losing anything', async () => {
    const x = new Channel<number>();
    const y = new Channel<number>();
    const s1 = track(select([recvCase(x), recvCase(y)]));
    const s2 = track(select([recvCase(y), recvCase(x)]));
    await x.send(1);
    await y.send(2);
    await Promise.all([s1.done, s2.done]);
    // FIFO: s1 queued first on both channels, so it takes x's value; s2 then takes y's.
    expect(s1.value).toEqual({ index: 0, value: 1, ok: true });
    expect(s2.value).toEqual({ index: 0, value: 2, ok: true });
    expect(x[kWaiting]).toEqual(idle);
    expect(y[kWaiting]).toEqual(idle);
  });

  it('never matches itself (send and receive on the same unbuffered channel)', async () => {
    const ch = new Channel<number>();
    const s = track(select([sendCase(ch, 1), recvCase(ch)]));
    await flush();
    expect(s.settled).toBe(false);
    expect(ch[kWaiting]).toEqual({ senders: 1, receivers: 1 });
    expect(await ch.recv()).toEqual({ value: 1, ok: true });
    await s.done;
    expect(s.value?.index).toBe(0);
    expect(ch[kWaiting]).toEqual(idle);
  });

  it('a blocked receive case is woken by close with ok:false', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const s = track(select([recvCase(a), recvCase(b)]));
    b.close();
    await s.done;
    expect(s.value).toEqual({ index: 1, value: undefined, ok: false });
    expect(a[kWaiting]).toEqual(idle);
  });

  it('a select loop with a losing case does not grow that channel’s queue', async () => {
    const quiet = new Channel<number>();
    const busy = new Channel<number>();
    for (let i = 0; i < 1000; i++) {
      const p = select([recvCase(quiet), recvCase(busy)]);
      busy.trySend(i);
      expect((await p).value).toBe(i);
    }
    expect(quiet[kWaiting]).toEqual(idle);
  });
});

describe('select: closed send cases (Go panics)', () => {
  it('rejects with ChannelClosedError when a chosen send case is closed', async () => {
    const a = new Channel<number>(1);
    a.close();
    await expect(select([sendCase(a, 1)])).rejects.toBeInstanceOf(ChannelClosedError);
    expect(() => trySelect([sendCase(a, 1)])).toThrow(ChannelClosedError);
  });

  it('rejects a blocked select whose send case gets closed, withdrawing its other cases', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>();
    const s = track(select([sendCase(a, 1), recvCase(b)]));
    a.close();
    await s.done;
    expect(s.error).toBeInstanceOf(ChannelClosedError);
    expect(b[kWaiting]).toEqual(idle);
  });
});

describe('select: nil (null) channels', () => {
  it('a null case is never chosen', async () => {
    const a = new Channel<number>(1);
    a.trySend(3);
    for (let i = 0; i < 50; i++) {
      const r = await select([recvCase<number>(null), sendCase<number>(null, 1), recvCase(a)]);
      expect(r.index).toBe(2);
      a.trySend(3);
    }
    expect(trySelect([recvCase(null), sendCase(null, 1)])).toBeUndefined();
  });

  it('select with only null cases waits until its signal aborts', async () => {
    const ac = new AbortController();
    const s = track(select([recvCase(null), sendCase(null, 1)], ac.signal));
    await flush();
    expect(s.settled).toBe(false);
    ac.abort('done');
    await s.done;
    expect(s.error).toBe('done');
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
  });

  it('select with only null cases and no signal never settles', async () => {
    const s = track(select([recvCase(null)]));
    const empty = track(select([]));
    for (let i = 0; i < 5; i++) await flush();
    expect(s.settled).toBe(false);
    expect(empty.settled).toBe(false);
  });
});

describe('select: nil channels are null or undefined (Go spec: "a nil channel is never ready")', () => {
  // The Go spec, Select statements: "Since communication on nil channels can never proceed, a
  // select with only nil channels and no default case blocks forever." Go has one nil; in
  // TypeScript both `null` and `undefined` are it, in select and trySelect alike.
  it('a blocking select skips undefined cases and completes the real one', async () => {
    const a = new Channel<number>();
    const s = track(select([recvCase<number>(undefined), sendCase<number>(undefined, 1), recvCase(a)]));
    await flush();
    expect(s.settled).toBe(false);
    await a.send(7);
    await s.done;
    expect(s.value).toEqual({ index: 2, value: 7, ok: true });
    expect(a[kWaiting]).toEqual(idle);
  });

  it('accepts case objects written by hand with ch: undefined (a JavaScript caller)', async () => {
    const a = new Channel<string>(1);
    const cases = [{ op: 'recv', ch: undefined }, { op: 'send', ch: undefined, value: 1 }, recvCase(a)];
    const s = track(select(cases as SelectCase[]));
    await flush();
    expect(s.settled).toBe(false);
    a.trySend('x');
    await s.done;
    expect(s.value).toEqual({ index: 2, value: 'x', ok: true });
    expect(trySelect(cases as SelectCase[])).toBeUndefined();
  });

  it('trySelect and select agree: only null/undefined cases are never ready', async () => {
    const cases = [recvCase(null), recvCase(undefined), sendCase(undefined, 0), sendCase(null, 0)] as const;
    expect(trySelect(cases)).toBeUndefined();
    const s = track(select(cases));
    for (let i = 0; i < 5; i++) await flush();
    expect(s.settled).toBe(false);
  });

  it('a select of only nil cases waits for its context, like `select { case <-ctx.Done(): }`', async () => {
    const clock = new FakeClock(0);
    const ctx = withTimeout(undefined, 50, clock);
    const s = track(select([recvCase(undefined), sendCase(null, 1)], ctx.signal));
    await clock.advanceAsync(49);
    expect(s.settled).toBe(false);
    await clock.advanceAsync(1);
    expect(s.error).toBeInstanceOf(DeadlineExceededError);
    expect(getEventListeners(ctx.signal, 'abort').length).toBe(0);
  });
});

describe('select: same-channel cases are chosen at random (runtime/select.go pollorder)', () => {
  it('TestPseudoRandomSend (runtime/chan_test.go): two send cases on one channel both get sent, cap 0 and cap n', async () => {
    const n = 100;
    for (const chanCap of [0, n]) {
      const c = new Channel<number>(chanCap);
      const l: number[] = [];
      // The receiver "goroutine": runtime.Gosched() before each receive, so that with cap 0 the
      // sender's select is already waiting when the receive arrives (the path this protects).
      const receiver = (async () => {
        for (let i = 0; i < n; i++) {
          await flush();
          l.push((await c.recv()).value!);
        }
      })();
      for (let i = 0; i < n; i++) await select([sendCase(c, 1), sendCase(c, 0)]);
      await receiver;
      const n1 = l.filter((v) => v === 1).length;
      const n0 = n - n1;
      expect(n0, `zeros (chan cap ${chanCap})`).toBeGreaterThan(n / 10);
      expect(n1, `ones (chan cap ${chanCap})`).toBeGreaterThan(n / 10);
    }
  });

  it('TestPseudoRandomSend, waiting path: the receiver completes a uniformly random one of the waiting send cases', async () => {
    const c = new Channel<number>();
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const s = select([sendCase(c, 0), sendCase(c, 1)]);
      expect(c[kWaiting]).toEqual({ senders: 2, receivers: 0 }); // it is waiting, not ready
      const got = (await c.recv()).value!;
      const r = await s;
      expect(r.index).toBe(got); // the case that completed is the one whose value was received
      counts[got]!++;
      expect(c[kWaiting]).toEqual(idle);
    }
    expect(Math.abs(counts[0]! / 4000 - 0.5)).toBeLessThan(0.05);
  });

  it('receive-side analogue: a send completes a uniformly random one of three waiting receive cases', async () => {
    const c = new Channel<string>();
    const other = new Channel<string>();
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 6000; i++) {
      const s = select([recvCase(c), recvCase(other), recvCase(c), recvCase(c)]);
      await c.send('v');
      const r = await s;
      expect(r.value).toBe('v');
      counts[r.index]!++;
      expect(c[kWaiting]).toEqual(idle);
      expect(other[kWaiting]).toEqual(idle);
    }
    expect(counts[1]).toBe(0);
    for (const i of [0, 2, 3]) expect(Math.abs(counts[i]! / 6000 - 1 / 3)).toBeLessThan(0.05);
  });

  it('a counterpart select (trySelect) completes a random one of a waiting select’s cases on its channel', async () => {
    const c = new Channel<number>();
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const s = select([recvCase(c), recvCase(c)]);
      expect(trySelect([sendCase(c, i)])).toEqual({ index: 0, value: undefined, ok: true });
      const r = await s;
      expect(r.value).toBe(i);
      counts[r.index]!++;
    }
    expect(Math.abs(counts[0]! / 4000 - 0.5)).toBeLessThan(0.05);
  });

  it('close completes a random one of a waiting select’s receive cases on the closed channel', async () => {
    const counts = [0, 0];
    for (let i = 0; i < 4000; i++) {
      const c = new Channel<number>();
      const s = select([recvCase(c), recvCase(c)]);
      c.close();
      const r = await s;
      expect(r.ok).toBe(false);
      counts[r.index]!++;
    }
    expect(Math.abs(counts[0]! / 4000 - 0.5)).toBeLessThan(0.05);
  });
});

describe('select: cancellation', () => {
  it('an already-aborted select takes nothing from any channel, even when ready', async () => {
    const a = new Channel<number>(1);
    const b = new Channel<number>(1);
    a.trySend(1);
    const ac = new AbortController();
    ac.abort('early');
    await expect(select([recvCase(a), sendCase(b, 2)], ac.signal)).rejects.toBe('early');
    expect(a.length).toBe(1);
    expect(b.length).toBe(0);
  });

  it('an abort while blocked withdraws every case', async () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    b.trySend(0);
    const ac = new AbortController();
    const s = track(select([recvCase(a), sendCase(b, 9)], ac.signal));
    await flush();
    ac.abort(new Error('cancel'));
    await s.done;
    expect((s.error as Error).message).toBe('cancel');
    expect(a[kWaiting]).toEqual(idle);
    expect(b[kWaiting]).toEqual(idle);
    expect(a.trySend(1)).toBe(false);
    expect(b.tryRecv()).toEqual({ value: 0, ok: true });
    expect(b.tryRecv()).toBeUndefined();
  });

  it('releases its abort listener when it completes (100k selects on one signal)', async () => {
    const ac = new AbortController();
    const a = new Channel<number>();
    const b = new Channel<number>(4);
    let wrong = 0;
    for (let i = 0; i < 100_000; i++) {
      const p = select([recvCase(a), recvCase(b)], ac.signal); // blocks: registers
      if (i % 2 === 0) a.trySend(i);
      else b.trySend(i);
      if ((await p).value !== i) wrong++; // (expect() per iteration would dominate the runtime)
    }
    expect(wrong).toBe(0);
    expect(getEventListeners(ac.signal, 'abort').length).toBe(0);
  });
});

describe('trySelect (select with default)', () => {
  it('returns undefined and touches nothing when no case is ready', () => {
    const a = new Channel<number>();
    const b = new Channel<number>(1);
    b.trySend(1);
    expect(trySelect([recvCase(a), sendCase(b, 2)])).toBeUndefined();
    expect(a[kWaiting]).toEqual(idle);
    expect(b[kWaiting]).toEqual(idle);
    expect(b.length).toBe(1);
  });

  it('performs a ready case, including taking from a blocked sender', async () => {
    const a = new Channel<number>();
    const s = track(a.send(4));
    expect(trySelect([recvCase(a)])).toEqual({ index: 0, value: 4, ok: true });
    await s.done;
    expect(s.settled).toBe(true);
  });

  it('completes a blocked select on the other side', async () => {
    const ch = new Channel<string>();
    const s = track(select([recvCase(ch)]));
    expect(trySelect([sendCase(ch, 'z')])).toEqual({ index: 0, value: undefined, ok: true });
    await s.done;
    expect(s.value).toEqual({ index: 0, value: 'z', ok: true });
  });
});

describe('select: result types', () => {
  it('narrows value by index and ok', async () => {
    const nums = new Channel<number>(1);
    const strs = new Channel<string>(1);
    nums.trySend(1);
    const r = await select([recvCase(nums), sendCase(strs, 's')]);
    if (r.index === 0) {
      if (r.ok) expectTypeOf(r.value).toEqualTypeOf<number>();
      else expectTypeOf(r.value).toEqualTypeOf<undefined>();
    } else {
      expectTypeOf(r.index).toEqualTypeOf<1>();
      expectTypeOf(r.value).toEqualTypeOf<undefined>();
    }
    const dynamic: SelectCase[] = [recvCase(nums)];
    nums.tryRecv(); // the first select may have chosen the send case and left 1 behind
    nums.trySend(2);
    const d = await select(dynamic);
    expectTypeOf(d).toEqualTypeOf<AnySelectResult>();
    expect(d).toEqual({ index: 0, value: 2, ok: true });
  });
});
