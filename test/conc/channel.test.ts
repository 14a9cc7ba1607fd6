import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Channel, makeChan } from '../../src/conc/channel.js';
import { flush } from '../../src/conc/clock.js';
import { ChannelClosedError, CloseOfClosedChannelError } from '../../src/conc/errors.js';
import { kWaiting } from '../../src/conc/waitqueue.js';
import { track } from '../helpers/track.js';

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('Channel construction', () => {
  it('defaults to unbuffered and reports capacity, length, closed', () => {
    const ch = new Channel<number>();
    expect(ch.capacity).toBe(0);
    expect(ch.length).toBe(0);
    expect(ch.closed).toBe(false);
    expect(makeChan<number>(7).capacity).toBe(7);
    expect(makeChan<number>().capacity).toBe(0);
  });

  it('rejects negative, fractional and non-finite capacities with RangeError', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, -0.5]) {
      expect(() => new Channel(bad)).toThrow(RangeError);
      expect(() => makeChan(bad)).toThrow(RangeError);
    }
  });
});

describe('unbuffered channel (rendezvous)', () => {
  it('a send completes only when a receiver takes the value', async () => {
    const ch = new Channel<string>();
    const s = track(ch.send('a'));
    await flush();
    expect(s.settled).toBe(false);
    expect(ch.length).toBe(0);
    const r = await ch.recv();
    expect(r).toEqual({ value: 'a', ok: true });
    await s.done;
    expect(s.settled).toBe(true);
    expect(s.error).toBeUndefined();
  });

  it('a receive waits until a sender arrives', async () => {
    const ch = new Channel<number>();
    const r = track(ch.recv());
    await flush();
    expect(r.settled).toBe(false);
    await ch.send(5); // a receiver is waiting: completes at once
    await r.done;
    expect(r.value).toEqual({ value: 5, ok: true });
  });

  it('trySend fails without a waiting receiver and succeeds with one', async () => {
    const ch = new Channel<number>();
    expect(ch.trySend(1)).toBe(false);
    expect(ch.tryRecv()).toBeUndefined();
    const r = track(ch.recv());
    expect(ch.trySend(2)).toBe(true);
    await r.done;
    expect(r.value).toEqual({ value: 2, ok: true });
    expect(ch.trySend(3)).toBe(false); // the receiver was consumed
  });

  it('tryRecv takes from a blocked sender and completes its send', async () => {
    const ch = new Channel<number>();
    const s = track(ch.send(9));
    expect(ch.tryRecv()).toEqual({ value: 9, ok: true });
    await s.done;
    expect(s.settled).toBe(true);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('carries undefined as an ordinary value (ok tells it from close)', async () => {
    const ch = new Channel<undefined>(1);
    await ch.send(undefined);
    expect(await ch.recv()).toEqual({ value: undefined, ok: true });
    ch.close();
    expect(await ch.recv()).toEqual({ value: undefined, ok: false });
  });
});

describe('buffered channel', () => {
  it('holds up to capacity values, then blocks senders', async () => {
    const ch = new Channel<number>(3);
    await ch.send(1);
    await ch.send(2);
    expect(ch.trySend(3)).toBe(true);
    expect(ch.length).toBe(3);
    expect(ch.trySend(4)).toBe(false);
    const s = track(ch.send(4));
    await flush();
    expect(s.settled).toBe(false);
    expect(ch.length).toBe(3);
    expect(await ch.recv()).toEqual({ value: 1, ok: true });
    // The freed slot is refilled from the blocked sender at once.
    await s.done;
    expect(s.settled).toBe(true);
    expect(ch.length).toBe(3);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push((await ch.recv()).value!);
    expect(got).toEqual([2, 3, 4]);
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('keeps FIFO order through many wrap-arounds and growth of the ring', async () => {
    const ch = new Channel<number>(100);
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      const burst = Math.min(100 - ch.length, (round * 37) % 100);
      for (let i = 0; i < burst; i++) expect(ch.trySend(next++)).toBe(true);
      const take = Math.min(ch.length, (round * 53) % 100);
      for (let i = 0; i < take; i++) expect(ch.tryRecv()).toEqual({ value: expected++, ok: true });
      if (ch.length === 100) expect(ch.trySend(-1)).toBe(false);
    }
    while (ch.length > 0) expect(ch.tryRecv()!.value).toBe(expected++);
    expect(expected).toBe(next);
  });

  it('a large capacity does not allocate its buffer up front and still fills to capacity', () => {
    const ch = new Channel<number>(100_000);
    for (let i = 0; i < 100_000; i++) expect(ch.trySend(i)).toBe(true);
    expect(ch.trySend(-1)).toBe(false);
    for (let i = 0; i < 100_000; i++) expect(ch.tryRecv()!.value).toBe(i);
  });
});

describe('FIFO service of blocked parties', () => {
  it('serves blocked receivers first-come first-served', async () => {
    const ch = new Channel<number>();
    const rs = [track(ch.recv()), track(ch.recv()), track(ch.recv())];
    for (const v of [10, 20, 30]) await ch.send(v);
    await Promise.all(rs.map((r) => r.done));
    expect(rs.map((r) => r.value?.value)).toEqual([10, 20, 30]);
  });

  it('serves blocked senders first-come first-served (unbuffered and buffered)', async () => {
    for (const cap of [0, 2]) {
      const ch = new Channel<number>(cap);
      for (let i = 0; i < cap; i++) await ch.send(i);
      const ss = [100, 101, 102, 103].map((v) => track(ch.send(v)));
      const got: number[] = [];
      for (let i = 0; i < cap + 4; i++) got.push((await ch.recv()).value!);
      expect(got).toEqual([...Array.from({ length: cap }, (_, i) => i), 100, 101, 102, 103]);
      await Promise.all(ss.map((s) => s.done));
      expect(ss.every((s) => s.settled && s.error === undefined)).toBe(true);
    }
  });

  it('has no cap on pending operations', async () => {
    const ch = new Channel<number>();
    const n = 50_000;
    const sends = Array.from({ length: n }, (_, i) => ch.send(i));
    expect(ch[kWaiting].senders).toBe(n);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const r = ch.tryRecv()!;
      expect(r.value).toBe(i);
      sum += r.value!;
    }
    await Promise.all(sends);
    expect(sum).toBe((n * (n - 1)) / 2);
    expect(ch[kWaiting]).toEqual({ senders: 0, receivers: 0 });
  });
});

describe('close', () => {
  it('send on a closed channel rejects and trySend throws ChannelClosedError', async () => {
    const ch = new Channel<number>(1);
    ch.close();
    expect(ch.closed).toBe(true);
    await expect(ch.send(1)).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(ch.send(1)).rejects.toThrow('send on closed channel');
    expect(() => ch.trySend(1)).toThrow(ChannelClosedError);
    expect(ch.length).toBe(0);
  });

  it('close of a closed channel throws CloseOfClosedChannelError and changes nothing', async () => {
    const ch = new Channel<number>(2);
    await ch.send(1);
    ch.close();
    expect(() => ch.close()).toThrow(CloseOfClosedChannelError);
    expect(() => ch.close()).toThrow('close of closed channel');
    expect(await ch.recv()).toEqual({ value: 1, ok: true });
    expect(await ch.recv()).toEqual({ value: undefined, ok: false });
  });

  it('buffered values are still received after close, then ok:false forever', async () => {
    const ch = new Channel<string>(3);
    await ch.send('a');
    await ch.send('b');
    ch.close();
    expect(ch.length).toBe(2);
    expect(await ch.recv()).toEqual({ value: 'a', ok: true });
    expect(ch.tryRecv()).toEqual({ value: 'b', ok: true });
    for (let i = 0; i < 3; i++) {
      expect(await ch.recv()).toEqual({ value: undefined, ok: false });
      expect(ch.tryRecv()).toEqual({ value: undefined, ok: false });
    }
  });

  it('receivers blocked at close get ok:false; senders blocked at close reject', async () => {
    const a = new Channel<number>();
    const rs = [track(a.recv()), track(a.recv())];
    a.close();
    await Promise.all(rs.map((r) => r.done));
    expect(rs.map((r) => r.value)).toEqual([
      { value: undefined, ok: false },
      { value: undefined, ok: false },
    ]);

    const b = new Channel<number>(1);
    await b.send(1);
    const ss = [track(b.send(2)), track(b.send(3))];
    b.close();
    await Promise.all(ss.map((s) => s.done));
    for (const s of ss) expect(s.error).toBeInstanceOf(ChannelClosedError);
    // The rejected values were delivered to no one; the buffered one survives.
    expect(await b.recv()).toEqual({ value: 1, ok: true });
    expect(await b.recv()).toEqual({ value: undefined, ok: false });
    expect(b[kWaiting]).toEqual({ senders: 0, receivers: 0 });
  });
});

describe('cancellation', () => {
  it('an already-aborted signal rejects with its reason and takes nothing, even if ready', async () => {
    const ch = new Channel<number>(2);
    await ch.send(1);
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(ch.recv(ac.signal)).rejects.toBe(reason);
    await expect(ch.send(2, ac.signal)).rejects.toBe(reason);
    expect(ch.length).toBe(1);
    expect(ch.tryRecv()).toEqual({ value: 1, ok: true });
    expect(ch.tryRecv()).toBeUndefined();
    // Also on a closed channel: the abort is reported first, consistently.
    ch.close();
    await expect(ch.send(3, ac.signal)).rejects.toBe(reason);
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('rejects with signal.reason whatever it is (default AbortError, custom values)', async () => {
    const ch = new Channel<number>();
    const ac = new AbortController();
    const p = ch.recv(ac.signal);
    ac.abort();
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(ac.signal.reason);
    expect((err as Error).name).toBe('AbortError');
    const ac2 = new AbortController();
    const p2 = ch.send(1, ac2.signal);
    ac2.abort('plain string');
    await expect(p2).rejects.toBe('plain string');
  });

  it('an aborted receive leaves the channel as if never tried', async () => {
    const ch = new Channel<number>();
    const ac = new AbortController();
    const r1 = track(ch.recv(ac.signal));
    const r2 = track(ch.recv());
    ac.abort(new Error('x'));
    await r1.done;
    expect(r1.error).toBeInstanceOf(Error);
    // The next value goes to the remaining receiver, not to the aborted one.
    expect(ch.trySend(7)).toBe(true);
    await r2.done;
    expect(r2.value).toEqual({ value: 7, ok: true });
    // And no phantom receiver is left behind.
    expect(ch.trySend(8)).toBe(false);
    expect(ch[kWaiting]).toEqual({ senders: 0, receivers: 0 });
  });

  it('an aborted send withdraws its value; others keep their order', async () => {
    const ch = new Channel<number>(1);
    await ch.send(0);
    const ac = new AbortController();
    const s1 = track(ch.send(1));
    const s2 = track(ch.send(2, ac.signal));
    const s3 = track(ch.send(3));
    ac.abort('no');
    await s2.done;
    expect(s2.error).toBe('no');
    const got: number[] = [];
    for (let i = 0; i < 3; i++) got.push((await ch.recv()).value!);
    expect(got).toEqual([0, 1, 3]);
    await Promise.all([s1.done, s3.done]);
    expect(s1.error).toBeUndefined();
    expect(s3.error).toBeUndefined();
    expect(ch.tryRecv()).toBeUndefined();
  });

  it('an abort after completion changes nothing', async () => {
    const ch = new Channel<number>();
    const ac = new AbortController();
    const r = ch.recv(ac.signal);
    ch.trySend(1);
    ac.abort();
    expect(await r).toEqual({ value: 1, ok: true });
    const s = ch.send(2, ac.signal);
    await expect(s).rejects.toBe(ac.signal.reason); // a new op sees the aborted signal
  });

  it('does not accumulate abort listeners over 100k operations on one signal', async () => {
    const ac = new AbortController();
    const { signal } = ac;
    const buffered = new Channel<number>(16);
    const unbuffered = new Channel<number>();
    for (let i = 0; i < 100_000; i++) {
      // Completes synchronously: never registers.
      await buffered.send(i, signal);
      await buffered.recv(signal);
      // Blocks, then completes: registers and must unregister.
      const r = unbuffered.recv(signal);
      if (i % 1000 === 0) expect(abortListeners(signal)).toBe(1);
      await unbuffered.send(i, signal);
      await r;
      if (i % 1000 === 0) expect(abortListeners(signal)).toBe(0);
    }
    expect(abortListeners(signal)).toBe(0);
  });

  it('many operations blocked on one signal share a single listener and all abort', async () => {
    const ac = new AbortController();
    const ch = new Channel<number>();
    const ops = [
      ...Array.from({ length: 50 }, () => track(ch.recv(ac.signal))),
      ...Array.from({ length: 50 }, (_, i) => track(new Channel<number>().send(i, ac.signal))),
    ];
    expect(abortListeners(ac.signal)).toBe(1);
    ac.abort('bye');
    await Promise.all(ops.map((o) => o.done));
    expect(ops.every((o) => o.error === 'bye')).toBe(true);
    expect(abortListeners(ac.signal)).toBe(0);
    expect(ch[kWaiting]).toEqual({ senders: 0, receivers: 0 });
  });
});

describe('iteration', () => {
  it('for await ranges until closed and drained', async () => {
    const ch = new Channel<number>(2);
    const producer = (async () => {
      for (let i = 0; i < 10; i++) await ch.send(i);
      ch.close();
    })();
    const got: number[] = [];
    for await (const v of ch) got.push(v);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('several loops over one channel share its values, each exactly once', async () => {
    const ch = new Channel<number>();
    const seen: number[][] = [[], [], []];
    const loops = seen.map(async (out) => {
      for await (const v of ch) out.push(v);
    });
    for (let i = 0; i < 300; i++) await ch.send(i);
    ch.close();
    await Promise.all(loops);
    expect(
      seen
        .flat()
        .sort((a, b) => a - b)
        .join(),
    ).toBe(Array.from({ length: 300 }, (_, i) => i).join());
    for (const s of seen) expect(s.length).toBeGreaterThan(0);
  });

  it('breaking out of a loop takes nothing further', async () => {
    const ch = new Channel<number>(5);
    for (let i = 0; i < 5; i++) ch.trySend(i);
    for await (const v of ch) if (v === 1) break;
    expect(ch.length).toBe(3);
    expect(ch.tryRecv()!.value).toBe(2);
  });

  it('range(signal) throws the reason on abort and loses no value', async () => {
    const ch = new Channel<number>();
    const ac = new AbortController();
    const got: number[] = [];
    const loop = (async () => {
      for await (const v of ch.range(ac.signal)) got.push(v);
    })();
    await ch.send(1);
    await ch.send(2);
    await flush();
    ac.abort(new Error('cancelled'));
    await expect(loop).rejects.toThrow('cancelled');
    expect(got).toEqual([1, 2]);
    // The channel has no lingering receiver: the next value waits for a new one.
    expect(ch.trySend(3)).toBe(false);
    const s = ch.send(3);
    expect(await ch.recv()).toEqual({ value: 3, ok: true });
    await s;
    expect(abortListeners(ac.signal)).toBe(0);
  });

  it('range() without a signal ends at close like plain iteration', async () => {
    const ch = new Channel<string>(3);
    await ch.send('x');
    ch.close();
    const got: string[] = [];
    for await (const v of ch.range()) got.push(v);
    expect(got).toEqual(['x']);
  });
});
