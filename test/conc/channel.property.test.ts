/**
 * Property: over random interleavings of sends, receives, selects, closes and aborts across a
 * few channels (buffered and unbuffered) with several concurrent senders, every value whose
 * send succeeded is received exactly once, in order per sender (per channel), and nothing else
 * is received. Also: every failure is a ChannelClosedError or the abort reason, nothing is left
 * waiting at the end, and no abort listener survives.
 *
 * The driver runs commands synchronously and only lets promise callbacks run at explicit
 * `settle` commands, so fast-check explores which operations overlap. Received values are
 * recorded in a single promise hop (or `queueMicrotask` for synchronous receives), which keeps
 * the record in the order the channels handed the values out.
 */

import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Channel, type RecvResult } from '../../src/conc/channel.js';
import { flush } from '../../src/conc/clock.js';
import { ChannelClosedError, CloseOfClosedChannelError } from '../../src/conc/errors.js';
import {
  type AnySelectResult,
  recvCase,
  type SelectCase,
  select,
  sendCase,
  trySelect,
} from '../../src/conc/select.js';
import { kWaiting } from '../../src/conc/waitqueue.js';

interface Val {
  readonly s: number;
  readonly seq: number;
  readonly ch: number;
}

class TestAbort extends Error {}

type SendMode = 'plain' | 'signal' | 'pre' | 'try' | 'select' | 'mixed' | 'trySelect';
type RecvMode = 'plain' | 'signal' | 'pre' | 'try' | 'select' | 'iter' | 'trySelect';
type Cmd =
  | { t: 'send'; who: number; ch: number; alt: number; nul: boolean; mode: SendMode }
  | { t: 'recv'; who: number; ch: number; alt: number; nul: boolean; mode: RecvMode }
  | { t: 'abort'; sender: boolean; who: number }
  | { t: 'close'; ch: number }
  | { t: 'settle'; deep: boolean };

const SENDERS = 4;
const RECEIVERS = 3;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 60,
    arbitrary: fc.record({
      t: fc.constant('send' as const),
      who: fc.nat(SENDERS - 1),
      ch: fc.nat(2),
      alt: fc.nat(2),
      nul: fc.boolean(),
      mode: fc.constantFrom<SendMode>('plain', 'signal', 'pre', 'try', 'select', 'mixed', 'trySelect'),
    }),
  },
  {
    weight: 60,
    arbitrary: fc.record({
      t: fc.constant('recv' as const),
      who: fc.nat(RECEIVERS - 1),
      ch: fc.nat(2),
      alt: fc.nat(2),
      nul: fc.boolean(),
      mode: fc.constantFrom<RecvMode>('plain', 'signal', 'pre', 'try', 'select', 'iter', 'trySelect'),
    }),
  },
  {
    weight: 18,
    arbitrary: fc.record({
      t: fc.constant('abort' as const),
      sender: fc.boolean(),
      who: fc.nat(SENDERS - 1),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('close' as const), ch: fc.nat(2) }) },
  { weight: 48, arbitrary: fc.record({ t: fc.constant('settle' as const), deep: fc.boolean() }) },
);

interface Task {
  pending: boolean;
  ac: AbortController | null;
}

async function runScenario(caps: number[], cmds: Cmd[]): Promise<void> {
  const chans = caps.map((c) => new Channel<Val>(c));
  const pick = (i: number) => i % chans.length;
  const senders: Task[] = Array.from({ length: SENDERS }, () => ({ pending: false, ac: null }));
  const receivers: Task[] = Array.from({ length: RECEIVERS }, () => ({ pending: false, ac: null }));
  const iters = receivers.map(() => new Map<number, AsyncIterator<Val>>());
  const seqs = new Array<number>(SENDERS).fill(0);
  const succeeded = new Map<string, Val>();
  const received: Val[] = [];
  const unexpected: unknown[] = [];
  const signals: AbortSignal[] = [];

  const key = (v: Val) => `${v.s}/${v.seq}`;
  const succeed = (v: Val) => succeeded.set(key(v), v);
  const record = (v: unknown) => received.push(v as Val);
  const recordLater = (v: unknown) => queueMicrotask(() => record(v));
  const failed = (e: unknown) => {
    if (!(e instanceof ChannelClosedError) && !(e instanceof TestAbort)) unexpected.push(e);
  };
  const signalFor = (task: Task, pre: boolean): AbortSignal => {
    const ac = new AbortController();
    if (pre) ac.abort(new TestAbort('pre'));
    task.ac = ac;
    signals.push(ac.signal);
    return ac.signal;
  };
  const run = <T>(task: Task, p: Promise<T>, ok: (v: T) => void) => {
    task.pending = true;
    p.then(
      (v) => {
        task.pending = false;
        ok(v);
      },
      (e: unknown) => {
        task.pending = false;
        failed(e);
      },
    );
  };
  const onRecv = (r: RecvResult<Val>) => {
    if (r.ok) record(r.value);
  };
  const onSelect = (cases: SelectCase[]) => (r: AnySelectResult) => {
    const c = cases[r.index]!;
    if (c.op === 'send') succeed(c.value as Val);
    else if (r.ok) record(r.value);
  };
  const onSelectSync = (cases: SelectCase[]) => (r: AnySelectResult) => {
    const c = cases[r.index]!;
    if (c.op === 'send') succeed(c.value as Val);
    else if (r.ok) recordLater(r.value);
  };

  for (const cmd of cmds) {
    switch (cmd.t) {
      case 'send': {
        const task = senders[cmd.who]!;
        if (task.pending) break;
        const ci = pick(cmd.ch);
        const ch = chans[ci]!;
        const alt = chans[pick(cmd.alt)]!;
        const v: Val = { s: cmd.who, seq: seqs[cmd.who]!++, ch: ci };
        switch (cmd.mode) {
          case 'plain':
            run(task, ch.send(v), () => succeed(v));
            break;
          case 'signal':
          case 'pre':
            run(task, ch.send(v, signalFor(task, cmd.mode === 'pre')), () => succeed(v));
            break;
          case 'try':
            try {
              if (ch.trySend(v)) succeed(v);
            } catch (e) {
              failed(e);
            }
            break;
          case 'select':
          case 'mixed': {
            const v2: Val = { s: cmd.who, seq: seqs[cmd.who]!++, ch: pick(cmd.alt) };
            const cases: SelectCase[] = [
              sendCase(ch, v),
              cmd.mode === 'select' ? sendCase(alt, v2) : recvCase(alt),
            ];
            if (cmd.nul) cases.push(recvCase(null));
            run(task, select(cases, signalFor(task, false)), onSelect(cases));
            break;
          }
          case 'trySelect': {
            const cases: SelectCase[] = [sendCase(ch, v), recvCase(alt)];
            try {
              const r = trySelect(cases);
              if (r) onSelectSync(cases)(r);
            } catch (e) {
              failed(e);
            }
            break;
          }
        }
        break;
      }
      case 'recv': {
        const task = receivers[cmd.who]!;
        if (task.pending) break;
        const ci = pick(cmd.ch);
        const ch = chans[ci]!;
        const alt = chans[pick(cmd.alt)]!;
        switch (cmd.mode) {
          case 'plain':
            run(task, ch.recv(), onRecv);
            break;
          case 'signal':
          case 'pre':
            run(task, ch.recv(signalFor(task, cmd.mode === 'pre')), onRecv);
            break;
          case 'try': {
            const r = ch.tryRecv();
            if (r?.ok) recordLater(r.value);
            break;
          }
          case 'iter': {
            let it = iters[cmd.who]!.get(ci);
            if (it === undefined) iters[cmd.who]!.set(ci, (it = ch[Symbol.asyncIterator]()));
            run(task, it.next(), (r) => {
              if (!r.done) record(r.value);
            });
            break;
          }
          case 'select': {
            const cases: SelectCase[] = [recvCase(ch), recvCase(alt)];
            if (cmd.nul) cases.push(sendCase(null, { s: -1, seq: -1, ch: -1 }));
            run(task, select(cases, cmd.nul ? signalFor(task, false) : undefined), onSelect(cases));
            break;
          }
          case 'trySelect': {
            const cases: SelectCase[] = [recvCase(ch), recvCase(alt)];
            const r = trySelect(cases);
            if (r) onSelectSync(cases)(r);
            break;
          }
        }
        break;
      }
      case 'abort': {
        const task = (cmd.sender ? senders : receivers)[cmd.sender ? cmd.who : cmd.who % RECEIVERS]!;
        task.ac?.abort(new TestAbort('abort'));
        break;
      }
      case 'close': {
        const ch = chans[pick(cmd.ch)]!;
        if (ch.closed) {
          try {
            ch.close();
            unexpected.push(new Error('second close did not throw'));
          } catch (e) {
            if (!(e instanceof CloseOfClosedChannelError)) unexpected.push(e);
          }
        } else ch.close();
        break;
      }
      case 'settle':
        if (cmd.deep) await flush();
        else await Promise.resolve();
        break;
    }
  }

  // Wind down: close everything (blocked receivers end, blocked senders fail), then drain.
  await flush();
  for (const ch of chans) if (!ch.closed) ch.close();
  await flush();
  // Closing released every blocked party (receivers with ok:false, senders with an error).
  for (const ch of chans) expect(ch[kWaiting]).toEqual({ senders: 0, receivers: 0 });
  for (const ch of chans) {
    for (let r = ch.tryRecv(); r?.ok; r = ch.tryRecv()) recordLater(r.value);
  }
  await flush();

  expect(unexpected).toEqual([]);
  expect([...senders, ...receivers].filter((t) => t.pending)).toEqual([]);
  for (const s of signals) expect(getEventListeners(s, 'abort').length).toBe(0);

  // Exactly once: received == succeeded, no duplicates, nothing foreign.
  const seen = new Set<string>();
  for (const v of received) {
    const k = key(v);
    expect(seen.has(k), `duplicate ${k}`).toBe(false);
    seen.add(k);
    expect(succeeded.get(k), `received ${k} whose send did not succeed`).toBe(v);
  }
  expect(seen.size).toBe(succeeded.size);

  // In order per sender, per channel.
  const last = new Map<string, number>();
  for (const v of received) {
    const k = `${v.s}@${v.ch}`;
    expect(v.seq, `sender ${v.s} on channel ${v.ch} out of order`).toBeGreaterThan(last.get(k) ?? -1);
    last.set(k, v.seq);
  }
}

describe('channel property: exactly-once, per-sender FIFO under random interleavings', () => {
  it('holds for random scripts over 1-3 channels of capacity 0-3', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(0, 0, 1, 2, 3), { minLength: 1, maxLength: 3 }),
        fc.array(cmdArb, { minLength: 20, maxLength: 250, size: 'max' }),
        (caps, cmds) => runScenario(caps, cmds),
      ),
      { numRuns: 200 },
    );
  });

  it('has actually exercised deliveries (sanity of the driver)', async () => {
    // A fixed script: if the driver recorded nothing, the property above would be vacuous.
    let got = 0;
    const ch = new Channel<number>(1);
    const p = (async () => {
      for await (const _ of ch) got++;
    })();
    for (let i = 0; i < 10; i++) await ch.send(i);
    ch.close();
    await p;
    expect(got).toBe(10);
  });
});
