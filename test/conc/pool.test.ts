import { getEventListeners } from 'node:events';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conc/channel.js';
import { FakeClock, flush } from '../../src/conc/clock.js';
import { isCanceled, withTimeout } from '../../src/conc/context.js';
import type { JobResult } from '../../src/conc/pool.js';
import { PoolClosedError, WorkerPool } from '../../src/conc/pool.js';
import { sleep } from '../../src/conc/time.js';

interface Gate {
  promise: Promise<void>;
  open: () => void;
  fail: (e: unknown) => void;
}
function gate(): Gate {
  let open!: () => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

async function collect<J, R>(pool: WorkerPool<J, R>): Promise<JobResult<J, R>[]> {
  const out: JobResult<J, R>[] = [];
  for await (const r of pool.results) out.push(r);
  return out;
}

/** Jobs controlled by hand: job i runs until gates[i] opens. */
function gatedPool(workers: number, queueSize: number, opts: { signal?: AbortSignal } = {}) {
  const gates = new Map<number, Gate>();
  const started: number[] = [];
  const signals: AbortSignal[] = [];
  let active = 0;
  let maxActive = 0;
  const pool = new WorkerPool<number, number>(
    async (i, signal) => {
      started.push(i);
      signals.push(signal);
      active++;
      maxActive = Math.max(maxActive, active);
      let g = gates.get(i);
      if (!g) gates.set(i, (g = gate()));
      try {
        await g.promise;
        return i * 10;
      } finally {
        active--;
      }
    },
    { workers, queueSize, ...opts },
  );
  const open = (i: number) => {
    let g = gates.get(i);
    if (!g) gates.set(i, (g = gate()));
    g.open();
  };
  const failJob = (i: number, e: unknown) => {
    let g = gates.get(i);
    if (!g) gates.set(i, (g = gate()));
    g.fail(e);
  };
  return {
    pool,
    started,
    signals,
    open,
    failJob,
    get active() {
      return active;
    },
    get maxActive() {
      return maxActive;
    },
  };
}

describe('WorkerPool', () => {
  it('runs every job once and delivers each result with its job, errors included', async () => {
    const boom = new Error('odd');
    const pool = new WorkerPool<number, number>(
      async (i) => {
        await flush();
        if (i % 3 === 1) throw boom;
        if (i % 3 === 2) return Promise.reject(new Error(`reject ${i}`));
        return i * 2;
      },
      { workers: 4, queueSize: 3 },
    );
    const results = collect(pool);
    for (let i = 0; i < 30; i++) await pool.submit(i);
    await pool.shutdown();
    const rs = await results;
    expect(rs).toHaveLength(30);
    expect(rs.map((r) => r.job).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    for (const r of rs) {
      if (r.job % 3 === 0) expect(r).toEqual({ job: r.job, ok: true, value: r.job * 2 });
      else if (r.job % 3 === 1) expect(r).toEqual({ job: r.job, ok: false, error: boom });
      else expect(r).toMatchObject({ job: r.job, ok: false, error: new Error(`reject ${r.job}`) });
    }
  });

  it('accepts synchronous job functions, including ones that throw', async () => {
    const pool = new WorkerPool<number, number>(
      (i) => {
        if (i === 3) throw new Error('three');
        return i + 1;
      },
      { workers: 2, queueSize: 0 },
    );
    const results = collect(pool);
    for (let i = 0; i < 6; i++) await pool.submit(i);
    await pool.shutdown();
    const rs = await results;
    expect(rs.filter((r) => r.ok)).toHaveLength(5);
    expect(rs.find((r) => r.job === 3)).toMatchObject({ ok: false, error: new Error('three') });
  });

  it('never runs more jobs at once than it has workers', async () => {
    const t = gatedPool(3, 10);
    const results = collect(t.pool);
    for (let i = 0; i < 10; i++) await t.pool.submit(i);
    await flush();
    expect(t.active).toBe(3);
    expect(t.pool.active).toBe(3);
    expect(t.pool.queued).toBe(7);
    for (let i = 0; i < 10; i++) {
      t.open(i);
      await flush();
      expect(t.active).toBeLessThanOrEqual(3);
    }
    await t.pool.shutdown();
    expect(await results).toHaveLength(10);
    expect(t.maxActive).toBe(3);
  });

  it('submit waits while the queue is full (backpressure)', async () => {
    const t = gatedPool(1, 2);
    const results = collect(t.pool);
    await t.pool.submit(0); // taken by the worker
    await flush();
    await t.pool.submit(1);
    await t.pool.submit(2); // queue full now
    expect(t.pool.trySubmit(99)).toBe(false);
    let accepted = false;
    const p = t.pool.submit(3).then(() => {
      accepted = true;
    });
    await flush();
    expect(accepted).toBe(false);
    t.open(0);
    await p;
    expect(accepted).toBe(true);
    for (const i of [1, 2, 3]) t.open(i);
    await t.pool.shutdown();
    expect((await results).map((r) => r.job)).toEqual([0, 1, 2, 3]);
  });

  it('submit(job, signal) rejects with the reason and does not queue the job', async () => {
    const t = gatedPool(1, 0);
    const results = collect(t.pool);
    await t.pool.submit(0);
    await flush();
    const ctl = new AbortController();
    const why = new Error('caller gave up');
    const p = t.pool.submit(1, ctl.signal);
    ctl.abort(why);
    await expect(p).rejects.toBe(why);
    await expect(t.pool.submit(2, AbortSignal.abort(why))).rejects.toBe(why);
    t.open(0);
    await t.pool.shutdown();
    expect((await results).map((r) => r.job)).toEqual([0]);
    expect(t.started).toEqual([0]);
  });

  it('shutdown finishes queued jobs, closes results, and refuses new jobs', async () => {
    const t = gatedPool(1, 5);
    const results = collect(t.pool);
    for (let i = 0; i < 4; i++) await t.pool.submit(i);
    let finished = false;
    const done = t.pool.shutdown().then(() => {
      finished = true;
    });
    await expect(t.pool.submit(9)).rejects.toBeInstanceOf(PoolClosedError);
    expect(() => t.pool.trySubmit(9)).toThrow(PoolClosedError);
    for (let i = 0; i < 3; i++) {
      t.open(i);
      await flush();
      expect(finished).toBe(false);
    }
    t.open(3);
    await done;
    expect((await results).map((r) => r.job)).toEqual([0, 1, 2, 3]);
    expect(t.pool.results.closed).toBe(true);
    expect(t.pool.running).toBe(0);
    await t.pool.shutdown();
  });

  it('shutdown rejects submits that were blocked on a full queue', async () => {
    const t = gatedPool(1, 0);
    const results = collect(t.pool);
    await t.pool.submit(0);
    await flush();
    const blocked = t.pool.submit(1);
    const done = t.pool.shutdown();
    await expect(blocked).rejects.toBeInstanceOf(PoolClosedError);
    t.open(0);
    await done;
    expect((await results).map((r) => r.job)).toEqual([0]);
  });

  it('shutdown(signal) gives up waiting on abort; then abort forces the end (graceful, then forced)', async () => {
    const clock = new FakeClock(0);
    const pool = new WorkerPool<number, string>(
      async (i, signal) => {
        await sleep(i === 0 ? 10_000 : 10, signal, clock); // job 0 hangs far past the grace period
        return `done ${i}`;
      },
      { workers: 2, queueSize: 4 },
    );
    const results = collect(pool);
    for (let i = 0; i < 4; i++) await pool.submit(i);
    const grace = withTimeout(undefined, 1000, clock);
    const graceful = pool.shutdown(grace.signal).then(
      () => 'graceful',
      async (e: unknown) => {
        await pool.abort(e);
        return 'forced';
      },
    );
    await clock.advanceAsync(1000);
    expect(await graceful).toBe('forced');
    const rs = await results;
    expect(rs).toHaveLength(4);
    expect(rs.filter((r) => r.ok).map((r) => r.job)).toEqual([1, 2, 3]);
    expect(rs.find((r) => r.job === 0)).toMatchObject({ ok: false, error: grace.signal.reason });
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(grace.signal, 'abort')).toHaveLength(0);
  });

  it('abort stops now: running jobs see the signal, queued jobs come back as errors', async () => {
    const why = new Error('stop now');
    const pool = new WorkerPool<number, string>(
      (i, signal) =>
        new Promise<string>((resolve, reject) => {
          if (i === 0) signal.addEventListener('abort', () => reject(signal.reason));
          else signal.addEventListener('abort', () => resolve(`finished ${i} anyway`));
        }),
      { workers: 2, queueSize: 3 },
    );
    const results = collect(pool);
    for (let i = 0; i < 5; i++) await pool.submit(i);
    await flush();
    expect(pool.active).toBe(2);
    const blocked = pool.submit(5);
    await pool.abort(why);
    await expect(blocked).rejects.toBe(why);
    await expect(pool.submit(6)).rejects.toBe(why);
    const rs = await results;
    expect(rs.map((r) => r.job).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(rs.find((r) => r.job === 0)).toEqual({ job: 0, ok: false, error: why });
    expect(rs.find((r) => r.job === 1)).toEqual({ job: 1, ok: true, value: 'finished 1 anyway' });
    for (const j of [2, 3, 4]) expect(rs.find((r) => r.job === j)).toEqual({ job: j, ok: false, error: why });
    expect(pool.signal.reason).toBe(why);
    expect(pool.running).toBe(0);
  });

  it('after abort, a queued job a worker picks up is delivered as an error, not run or lost', async () => {
    const ran: string[] = [];
    const pool = new WorkerPool<string, string>(
      (j) => {
        ran.push(j);
        return j;
      },
      { workers: 1, queueSize: 2, resultsSize: 0 },
    );
    await pool.submit('A'); // the worker runs A and blocks handing on its result (nobody reads yet)
    await flush();
    await pool.submit('B');
    await pool.submit('C');
    const why = new Error('abort');
    const done = pool.abort(why);
    const rs = await collect(pool);
    await done;
    expect(ran).toEqual(['A']);
    expect(rs.map((r) => r.job).sort()).toEqual(['A', 'B', 'C']);
    expect(rs.filter((r) => !r.ok).every((r) => !r.ok && r.error === why)).toBe(true);
  });

  it('abort() without a reason uses a CanceledError; the signal option aborts the pool', async () => {
    const a = new WorkerPool<number, number>((i) => i, { workers: 1, queueSize: 1 });
    await a.abort();
    expect(isCanceled(a.signal.reason)).toBe(true);
    await expect(a.submit(1)).rejects.toSatisfy(isCanceled);

    const clock = new FakeClock(0);
    const ctx = withTimeout(undefined, 100, clock);
    const t = gatedPool(1, 4, { signal: ctx.signal });
    const results = collect(t.pool);
    for (let i = 0; i < 3; i++) await t.pool.submit(i);
    clock.advance(100);
    expect(t.signals[0]!.aborted).toBe(true);
    t.open(0);
    await t.pool.done;
    const rs = await results;
    expect(rs).toHaveLength(3);
    expect(rs.find((r) => r.job === 0)).toEqual({ job: 0, ok: true, value: 0 });
    expect(rs.filter((r) => r.job !== 0).every((r) => !r.ok && r.error === ctx.signal.reason)).toBe(true);
  });

  it('an already-aborted signal gives a pool that refuses every job', async () => {
    const why = new Error('too late');
    const pool = new WorkerPool<number, number>((i) => i, {
      workers: 2,
      queueSize: 2,
      signal: AbortSignal.abort(why),
    });
    await expect(pool.submit(1)).rejects.toBe(why);
    await pool.done;
    expect(await collect(pool)).toEqual([]);
  });

  it('resize grows at once and shrinks idle workers at once, busy ones after their job', async () => {
    const t = gatedPool(1, 20);
    const results = collect(t.pool);
    for (let i = 0; i < 10; i++) await t.pool.submit(i);
    await flush();
    expect(t.active).toBe(1);
    t.pool.resize(4);
    await flush();
    expect(t.active).toBe(4);
    expect(t.pool.size).toBe(4);
    expect(t.pool.running).toBe(4);

    // Shrink while all four are busy: they stop only after their current job.
    t.pool.resize(2);
    expect(t.pool.running).toBe(4);
    expect(t.active).toBe(4);
    for (const i of t.started.slice(0, 4)) t.open(i);
    await flush();
    expect(t.pool.running).toBe(2);
    expect(t.active).toBe(2);

    // Let the queue empty so workers go idle, then shrink: idle workers stop at once.
    for (let i = 0; i < 10; i++) t.open(i);
    await flush();
    expect(t.active).toBe(0);
    t.pool.resize(1);
    await flush();
    expect(t.pool.running).toBe(1);
    t.pool.resize(0);
    await flush();
    expect(t.pool.running).toBe(0);

    // With no workers queued jobs wait; growing again runs them.
    await t.pool.submit(10);
    await flush();
    expect(t.started).not.toContain(10);
    const done = t.pool.shutdown();
    t.pool.resize(2);
    t.open(10);
    await done;
    expect((await results).map((r) => r.job).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    ]);
  });

  it('with nobody reading results, workers block instead of buffering without bound', async () => {
    let ran = 0;
    const pool = new WorkerPool<number, number>(
      (i) => {
        ran++;
        return i;
      },
      { workers: 2, queueSize: 2, resultsSize: 3 },
    );
    const submits = Array.from({ length: 20 }, (_, i) => pool.submit(i));
    await flush();
    // 3 results buffered + 1 held by each of the 2 blocked workers.
    expect(ran).toBe(5);
    expect(pool.results.length).toBe(3);
    expect(pool.queued).toBe(2);
    const results = collect(pool);
    await Promise.all(submits);
    await pool.shutdown();
    expect(await results).toHaveLength(20);
    expect(ran).toBe(20);
  });

  it('onResult receives every result instead of the channel, with backpressure', async () => {
    const got: JobResult<number, number>[] = [];
    let inCallback = 0;
    let maxInCallback = 0;
    const pool = new WorkerPool<number, number>((i) => i * i, {
      workers: 3,
      queueSize: 2,
      onResult: async (r) => {
        inCallback++;
        maxInCallback = Math.max(maxInCallback, inCallback);
        await flush();
        got.push(r);
        inCallback--;
      },
    });
    for (let i = 0; i < 12; i++) await pool.submit(i);
    await pool.shutdown();
    expect(got.map((r) => r.job).sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(maxInCallback).toBeLessThanOrEqual(3);
    expect(await collect(pool)).toEqual([]);
  });

  it('refuses bad sizes', () => {
    const fn = (i: number) => i;
    expect(() => new WorkerPool(fn, { workers: -1, queueSize: 1 })).toThrow(RangeError);
    expect(() => new WorkerPool(fn, { workers: 1, queueSize: 1.5 })).toThrow(RangeError);
    const p = new WorkerPool(fn, { workers: 1, queueSize: 1 });
    expect(() => p.resize(Number.NaN)).toThrow(RangeError);
    void p.shutdown();
  });

  it('runs the seed image-processor program (submitter task + shutdown, consumer ranges results)', async () => {
    interface Image {
      id: string;
      url: string;
    }
    const clock = new FakeClock(0);
    const ctx = withTimeout(undefined, 10_000, clock);
    const processor = new WorkerPool<Image, string>(
      async (img, signal) => {
        await sleep(500, signal, clock); // simulate image processing
        return `https://cdn.example.com/thumb/${img.id}`;
      },
      { workers: 3, queueSize: 10, signal: ctx.signal },
    );
    const images = Array.from({ length: 5 }, (_, i) => ({
      id: `img-${i + 1}`,
      url: `https://example.com/${i}`,
    }));
    void (async () => {
      for (const img of images) await processor.submit(img);
      await processor.shutdown();
    })();
    const out: string[] = [];
    const consumer = (async () => {
      for await (const r of processor.results)
        out.push(r.ok ? `ok ${r.job.id} ${r.value}` : `err ${r.job.id}`);
    })();
    await clock.advanceAsync(500);
    expect(out).toHaveLength(3);
    await clock.advanceAsync(500);
    await consumer;
    ctx.cancel(); // Go: defer cancel()
    expect(out.sort()).toEqual(images.map((i) => `ok ${i.id} https://cdn.example.com/thumb/${i.id}`));
    expect(clock.pendingTimers).toBe(0);
  });

  it('property: every accepted job yields exactly one result, whatever the sizes and failures', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
        fc.option(fc.integer({ min: 0, max: 40 }), { nil: undefined }),
        async (workers, queueSize, spec, abortAt) => {
          const pool = new WorkerPool<number, number>(
            async (i) => {
              for (let k = 0; k < spec[i]![1]; k++) await Promise.resolve();
              if (spec[i]![0]) throw new Error(`job ${i}`);
              return i;
            },
            { workers, queueSize },
          );
          const results = collect(pool);
          const accepted: number[] = [];
          for (let i = 0; i < spec.length; i++) {
            if (i === abortAt) void pool.abort(new Error('abort'));
            try {
              await pool.submit(i);
              accepted.push(i);
            } catch {}
          }
          await pool.shutdown();
          const rs = await results;
          expect(rs.map((r) => r.job).sort((a, b) => a - b)).toEqual(accepted);
          for (const r of rs) {
            if (r.ok) expect(r.value).toBe(r.job);
            else expect(r.error).toBeInstanceOf(Error);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('results is a Channel: can be received with a signal', async () => {
    const pool = new WorkerPool<number, number>((i) => i, { workers: 1, queueSize: 1 });
    expect(pool.results).toBeInstanceOf(Channel);
    await pool.submit(7);
    expect(await pool.results.recv(new AbortController().signal)).toEqual({
      value: { job: 7, ok: true, value: 7 },
      ok: true,
    });
    await pool.shutdown();
  });
});
