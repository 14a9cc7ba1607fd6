/**
 * Property: over random programs of contexts (nested, with and without deadlines), timer
 * channels (`after`, Ticker) and operations blocked on them (receive and select on channels,
 * with signals; Weighted.acquire; WaitGroup.wait), cancels, sends and clock advances, a host
 * timer is ref'd — keeps Node alive — exactly when some pending operation will be woken by it:
 * a deadline of the operation's signal or of one of its ancestors, or a timer channel in one of
 * its cases. This is Go's liveness rule (a goroutine blocked on a timer or on `ctx.Done()` keeps
 * the program waiting; a timer nobody waits on does not) in Node's terms. At the end, with every
 * context finished, nothing is ref'd and no abort listener is left.
 *
 * The clock is a FakeClock whose handles carry Node's `ref()` / `unref()` so ref state can be
 * read directly; checks run after `flush()`, when every settled operation's promise has run.
 */

import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conc/channel.js';
import { type Clock, FakeClock, flush, type TimerHandle } from '../../src/conc/clock.js';
import { type CancelContext, withCancel, withTimeout } from '../../src/conc/context.js';
import { signalDeadline } from '../../src/conc/deadline.js';
import { recvCase, type SelectCase, select } from '../../src/conc/select.js';
import { Weighted } from '../../src/conc/semaphore.js';
import { after, newTicker, type Ticker } from '../../src/conc/time.js';
import { WaitGroup } from '../../src/conc/waitgroup.js';

/** A FakeClock handle with Node's ref API; unref'd by default, like `systemClock`'s timers. */
interface RefHandle {
  inner: TimerHandle;
  live: boolean;
  refed: boolean;
  ref(): RefHandle;
  unref(): RefHandle;
}

class RefClock implements Clock {
  readonly fake = new FakeClock(0);
  readonly handles: RefHandle[] = [];

  now(): number {
    return this.fake.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const h: RefHandle = {
      inner: undefined as unknown as TimerHandle,
      live: true,
      refed: false,
      ref() {
        h.refed = true;
        return h;
      },
      unref() {
        h.refed = false;
        return h;
      },
    };
    h.inner = this.fake.setTimeout(() => {
      h.live = false;
      fn();
    }, ms);
    this.handles.push(h);
    return h;
  }

  clearTimeout(handle: TimerHandle): void {
    const h = handle as RefHandle;
    h.live = false;
    this.fake.clearTimeout(h.inner);
  }

  /** Live host timers that keep the process alive. */
  refd(): number {
    return this.handles.filter((h) => h.live && h.refed).length;
  }
}

interface Ctx {
  readonly c: CancelContext;
  readonly parent: Ctx | null;
  /** Whether this context armed a timer of its own (its deadline is earlier than its parent's). */
  readonly ownTimer: boolean;
}

interface TimerChan {
  readonly ch: Channel<number>;
  /** Fire time of an `after`; Infinity for a running ticker. */
  readonly fireAt: number;
  readonly ticker: Ticker | null;
}

interface Op {
  pending: boolean;
  readonly ctx: Ctx | null;
  readonly timers: TimerChan[];
}

type Cmd =
  | { t: 'ctx'; parent: number; timeout: number | null }
  | { t: 'timer'; ms: number; ticker: boolean }
  | { t: 'recv'; ctx: number; ch: number }
  | { t: 'select'; ctx: number; ch: number; timers: number[] }
  | { t: 'acquire'; ctx: number }
  | { t: 'wait'; ctx: number }
  | { t: 'cancel'; ctx: number }
  | { t: 'send'; ch: number }
  | { t: 'release' }
  | { t: 'advance'; ms: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('ctx' as const),
      parent: fc.integer({ min: -1, max: 7 }),
      timeout: fc.option(fc.integer({ min: 1, max: 400 })),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('timer' as const),
      ms: fc.integer({ min: 1, max: 300 }),
      ticker: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('recv' as const),
      ctx: fc.integer({ min: -1, max: 7 }),
      ch: fc.nat(1),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('select' as const),
      ctx: fc.integer({ min: -1, max: 7 }),
      ch: fc.integer({ min: -1, max: 1 }),
      timers: fc.array(fc.nat(5), { maxLength: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('acquire' as const), ctx: fc.integer({ min: -1, max: 7 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('wait' as const), ctx: fc.integer({ min: -1, max: 7 }) }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cancel' as const), ctx: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('send' as const), ch: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 }) }),
  },
);

/** The number of host timers that must be ref'd now: distinct live timers some pending op waits on. */
function expectedRefd(ops: Op[], now: number): number {
  const owners = new Set<Ctx | TimerChan>();
  for (const op of ops) {
    if (!op.pending) continue;
    for (let c = op.ctx; c !== null; c = c.parent) {
      if (c.ownTimer && !c.c.signal.aborted) owners.add(c);
    }
    for (const t of op.timers) if (now < t.fireAt) owners.add(t);
  }
  return owners.size;
}

async function run(cmds: Cmd[]): Promise<void> {
  const clock = new RefClock();
  const ctxs: Ctx[] = [];
  const timers: TimerChan[] = [];
  const chans = [new Channel<number>(), new Channel<number>()];
  const sem = new Weighted(1);
  await sem.acquire(1);
  const wg = new WaitGroup();
  wg.add(1);
  const ops: Op[] = [];
  const start = (p: Promise<unknown>, ctx: Ctx | null, ts: TimerChan[]): void => {
    const op: Op = { pending: true, ctx, timers: ts };
    ops.push(op);
    p.then(
      () => (op.pending = false),
      () => (op.pending = false),
    );
  };
  const ctxAt = (i: number): Ctx | null => (i < 0 || ctxs.length === 0 ? null : ctxs[i % ctxs.length]!);

  for (const cmd of cmds) {
    switch (cmd.t) {
      case 'ctx': {
        const parent = ctxAt(cmd.parent);
        const ps = parent?.c.signal;
        if (cmd.timeout === null) {
          ctxs.push({ c: withCancel(ps), parent, ownTimer: false });
        } else {
          const at = clock.now() + cmd.timeout;
          const pd = signalDeadline(ps);
          const ownTimer = !(ps?.aborted ?? false) && (pd === undefined || at < pd);
          ctxs.push({ c: withTimeout(ps, cmd.timeout, clock), parent, ownTimer });
        }
        break;
      }
      case 'timer':
        if (cmd.ticker) {
          const ticker = newTicker(cmd.ms, clock);
          timers.push({ ch: ticker.c, fireAt: Number.POSITIVE_INFINITY, ticker });
        } else {
          timers.push({ ch: after(cmd.ms, clock), fireAt: clock.now() + cmd.ms, ticker: null });
        }
        break;
      case 'recv': {
        const ctx = ctxAt(cmd.ctx);
        start(chans[cmd.ch]!.recv(ctx?.c.signal), ctx, []);
        break;
      }
      case 'select': {
        const ctx = ctxAt(cmd.ctx);
        const ts = timers.length === 0 ? [] : cmd.timers.map((j) => timers[j % timers.length]!);
        const cases: SelectCase[] = ts.map((t) => recvCase(t.ch));
        if (cmd.ch >= 0) cases.push(recvCase(chans[cmd.ch]!));
        start(select(cases, ctx?.c.signal), ctx, ts);
        break;
      }
      case 'acquire': {
        const ctx = ctxAt(cmd.ctx);
        // A granted acquire holds the weight; the model releases it with 'release'.
        start(sem.acquire(1, ctx?.c.signal), ctx, []);
        break;
      }
      case 'wait': {
        const ctx = ctxAt(cmd.ctx);
        start(wg.wait(ctx?.c.signal), ctx, []);
        break;
      }
      case 'cancel':
        ctxAt(cmd.ctx)?.c.cancel();
        break;
      case 'send':
        chans[cmd.ch]!.trySend(1);
        break;
      case 'release':
        // The weight is always held (initially by us, then by whoever it was granted to):
        // hand it to the next waiter, or take it back when nobody waits.
        sem.release(1);
        sem.tryAcquire(1);
        break;
      case 'advance':
        clock.fake.advance(cmd.ms);
        break;
    }
    await flush();
    const expected = expectedRefd(ops, clock.now());
    if (expected > 0) stats.waitingSteps++;
    expect(clock.refd(), `after ${JSON.stringify(cmd)}`).toBe(expected);
  }

  // Wind down: finish every context and stop every ticker; what is still pending then waits on
  // plain channels only, which no timer will wake.
  for (const c of ctxs) c.c.cancel();
  for (const t of timers) t.ticker?.stop();
  clock.fake.advance(1000);
  await flush();
  expect(clock.refd()).toBe(0);
  for (const c of ctxs) expect(getEventListeners(c.c.signal, 'abort')).toHaveLength(0);
}

/** How many checked steps had something ref'd: guards against a generator that never tests it. */
const stats = { waitingSteps: 0 };

describe('keep-alive property (Go: a program blocked on a timer waits for it; nothing else does)', () => {
  it('a host timer is ref’d exactly while a pending operation will be woken by it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: 10, maxLength: 60 }), async (cmds) => {
        await run(cmds);
      }),
      { numRuns: 150 },
    );
    expect(stats.waitingSteps).toBeGreaterThan(500);
  });
});
