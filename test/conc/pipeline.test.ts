import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../src/conc/channel.js';
import { FakeClock, flush } from '../../src/conc/clock.js';
import { isCanceled } from '../../src/conc/context.js';
import {
  fanOut,
  filter,
  generate,
  merge,
  Pipeline,
  pipeline,
  skip,
  stage,
  tee,
} from '../../src/conc/pipeline.js';
import { sleep } from '../../src/conc/time.js';
import { kWaiting } from '../../src/conc/waitqueue.js';

async function drain<T>(ch: Channel<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of ch) out.push(v);
  return out;
}

function blocked(...chs: Channel<unknown>[]): number {
  let n = 0;
  for (const ch of chs) n += ch[kWaiting].senders + ch[kWaiting].receivers;
  return n;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('generate', () => {
  it('emits an array, a sync generator, an async generator, then closes', async () => {
    expect(await drain(generate([1, 2, 3]))).toEqual([1, 2, 3]);
    function* gen() {
      yield 'a';
      yield 'b';
    }
    expect(await drain(generate(gen()))).toEqual(['a', 'b']);
    async function* agen() {
      for (let i = 0; i < 3; i++) {
        await flush();
        yield i;
      }
    }
    expect(await drain(generate(agen()))).toEqual([0, 1, 2]);
    const buffered = generate(range(5), { buffer: 5 });
    await flush();
    expect(buffered.length).toBe(5);
    expect(buffered.closed).toBe(true);
  });

  it('passes its signal to a source function and finalizes the generator when stopped', async () => {
    const ctl = new AbortController();
    let finalized = false;
    let sawSignal: AbortSignal | undefined;
    const ch = generate(
      (signal) => {
        sawSignal = signal;
        return (function* () {
          try {
            for (let i = 0; ; i++) yield i;
          } finally {
            finalized = true;
          }
        })();
      },
      { signal: ctl.signal },
    );
    expect((await ch.recv()).value).toBe(0);
    expect((await ch.recv()).value).toBe(1);
    ctl.abort(new Error('enough'));
    await flush();
    expect(sawSignal!.aborted).toBe(true);
    expect(finalized).toBe(true);
    expect(ch.closed).toBe(true);
    expect((await ch.recv()).ok).toBe(false);
  });
});

describe('stage', () => {
  it('transforms values in order with concurrency 1 and closes after its input', async () => {
    const out = stage(generate(range(5)), async (v) => v * v);
    expect(await drain(out)).toEqual([0, 1, 4, 9, 16]);
    expect(out.closed).toBe(true);
  });

  it('drops values for which the function returns skip; filter keeps matches', async () => {
    const odd = stage(generate(range(10)), (v) => (v % 2 ? `odd ${v}` : skip));
    expect(await drain(odd)).toEqual(['odd 1', 'odd 3', 'odd 5', 'odd 7', 'odd 9']);
    const big = filter(generate(range(10)), async (v) => v > 6);
    expect(await drain(big)).toEqual([7, 8, 9]);
  });

  it('unordered: runs up to `concurrency` calls at once, emits as completed', async () => {
    let active = 0;
    let max = 0;
    const out = stage(
      generate(range(20)),
      async (v) => {
        active++;
        max = Math.max(max, active);
        for (let k = 0; k < (v * 7) % 5; k++) await flush();
        active--;
        return v;
      },
      { concurrency: 4 },
    );
    const got = await drain(out);
    expect(got.slice().sort((a, b) => a - b)).toEqual(range(20));
    expect(got).not.toEqual(range(20)); // completion order differs from input order here
    expect(max).toBe(4);
  });

  it('ordered: emits in input order with calls overlapping, never more than `concurrency`', async () => {
    let active = 0;
    let max = 0;
    const out = stage(
      generate(range(30)),
      async (v) => {
        active++;
        max = Math.max(max, active);
        for (let k = 0; k < (v * 7) % 5; k++) await flush();
        active--;
        return v * 10;
      },
      { concurrency: 4, ordered: true },
    );
    expect(await drain(out)).toEqual(range(30).map((v) => v * 10));
    expect(max).toBe(4);
  });

  it('ordered with concurrency 2 and 3 stays within bounds', async () => {
    for (const c of [2, 3]) {
      let active = 0;
      let max = 0;
      const out = stage(
        generate(range(12)),
        async (v) => {
          active++;
          max = Math.max(max, active);
          await flush();
          active--;
          return v;
        },
        { concurrency: c, ordered: true, buffer: 1 },
      );
      expect(await drain(out)).toEqual(range(12));
      expect(max).toBe(c);
    }
  });

  it('refuses bad options', () => {
    const ch = new Channel<number>();
    expect(() => stage(ch, (v) => v, { concurrency: 0 })).toThrow(RangeError);
    expect(() => stage(ch, (v) => v, { buffer: -1 })).toThrow(RangeError);
    expect(() => fanOut(ch, 0)).toThrow(RangeError);
  });

  it('a free-standing stage stops quietly when its signal aborts', async () => {
    const ctl = new AbortController();
    const input = new Channel<number>();
    const out = stage(input, (v) => v, { signal: ctl.signal });
    await input.send(1);
    expect((await out.recv()).value).toBe(1);
    ctl.abort(new Error('stop'));
    expect(await out.recv()).toEqual({ value: undefined, ok: false });
    expect(blocked(input, out)).toBe(0);
  });

  it('a free-standing stage error surfaces as an uncaught exception', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-'));
    try {
      const script = join(dir, 'fail.mts');
      const src = resolve('src/conc/pipeline.ts');
      writeFileSync(
        script,
        `import { generate, stage } from ${JSON.stringify(src)};\n` +
          `const out = stage(generate([1, 2, 3]), (v) => { if (v === 2) throw new Error('stage-boom'); return v; });\n` +
          `for await (const v of out) console.log('got', v);\nconsole.log('loop ended');\n`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stdout).toContain('got 1');
      expect(r.stderr).toContain('stage-boom');
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('merge / fanOut / tee', () => {
  it('merge delivers every value of every input and closes after the last', async () => {
    const a = generate([1, 2, 3]);
    const b = generate([10, 20]);
    const c = new Channel<number>(1);
    const merged = merge(a, b, c);
    await c.send(100);
    const got: number[] = [];
    for (let i = 0; i < 6; i++) got.push((await merged.recv()).value!);
    expect(merged.closed).toBe(false);
    c.close();
    expect(await merged.recv()).toEqual({ value: undefined, ok: false });
    expect(got.sort((x, y) => x - y)).toEqual([1, 2, 3, 10, 20, 100]);
    // each input's own order is kept
    expect(got.filter((v) => v < 10)).toEqual([1, 2, 3]);
    expect((await merge<number>().recv()).ok).toBe(false);
  });

  it('fanOut gives each value to exactly one output, by availability', async () => {
    const outs = fanOut(generate(range(30)), 3);
    const seen: number[][] = [[], [], []];
    await Promise.all(
      outs.map(async (out, i) => {
        for await (const v of out) {
          seen[i]!.push(v);
          if (i === 0) for (let k = 0; k < 10; k++) await flush(); // a slow consumer
        }
      }),
    );
    expect(seen.flat().sort((a, b) => a - b)).toEqual(range(30));
    expect(seen[0]!.length).toBeLessThan(seen[1]!.length);
    expect(outs.every((o) => o.closed)).toBe(true);
  });

  it('tee sends every value to every output in order', async () => {
    const outs = tee(generate(range(10)), 3, { buffer: 2 });
    const got = await Promise.all(outs.map(drain));
    for (const g of got) expect(g).toEqual(range(10));
  });
});

describe('Pipeline', () => {
  it('runs the seed ETL pipeline (extract → transform → enrich → load)', async () => {
    interface RawData {
      id: number;
      content: string;
      timestamp: number;
    }
    const clock = new FakeClock(0);
    const p = pipeline();
    async function* extract(count: number, signal: AbortSignal): AsyncGenerator<RawData> {
      for (let i = 1; i <= count; i++) {
        yield { id: i, content: `  Raw DATA ${i} with EXTRA spaces  `, timestamp: clock.now() };
        await sleep(100, signal, clock);
      }
    }
    const transform = (d: RawData) => {
      const content = d.content.trim().toLowerCase();
      return { id: d.id, content, words: content.split(/\s+/).length };
    };
    const enrich = (d: { id: number; content: string; words: number }) => ({
      ...d,
      category: d.words > 5 ? 'long' : 'short',
      processedAt: clock.now(),
    });
    const loaded: Array<ReturnType<typeof enrich>> = [];

    const rawData = p.generate((signal) => extract(5, signal));
    const cleaned = p.stage(rawData, transform);
    const enriched = p.stage(cleaned, enrich);
    p.sink(enriched, (d) => {
      loaded.push(d);
    });
    const done = p.wait();
    await clock.advanceAsync(500);
    await done;
    expect(loaded.map((d) => d.id)).toEqual([1, 2, 3, 4, 5]);
    expect(loaded[0]).toEqual({
      id: 1,
      content: 'raw data 1 with extra spaces',
      words: 6,
      category: 'long',
      processedAt: 0,
    });
    expect(loaded[4]!.processedAt).toBe(400);
    expect(p.running).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs the seed log-processing program (3 processors share one input, merged)', async () => {
    const levels = ['INFO', 'WARN', 'ERROR', 'DEBUG'] as const;
    const p = pipeline();
    const logs = p.generate(
      range(20).map((i) => ({ level: levels[i % 4]!, message: `Log message ${i} with some content` })),
    );
    const processLogs = (entry: { level: string; message: string }) => ({
      entry,
      wordCount: entry.message.length,
      priority: ({ ERROR: 3, WARN: 2, INFO: 1 } as Record<string, number>)[entry.level] ?? 0,
    });
    // Fan-out: three processors reading the same channel; fan-in: merge them.
    const processors = [1, 2, 3].map(() => p.stage(logs, processLogs));
    const merged = p.merge(...processors);
    const got = await drain(merged);
    await p.wait();
    expect(got).toHaveLength(20);
    expect(got.filter((x) => x.priority === 3)).toHaveLength(5);
    expect(new Set(got.map((x) => x.entry.message)).size).toBe(20);
  });

  it('an error mid-pipeline stops every stage, is reported once, and leaves nothing behind', async () => {
    const clock = new FakeClock(0);
    const p = new Pipeline();
    const boom = new Error('bad record 7');
    let generatorFinalized = false;
    let inFlight = 0;
    let stage3Calls = 0;
    async function* source(signal: AbortSignal) {
      try {
        for (let i = 0; ; i++) {
          yield i;
          await sleep(1, signal, clock);
        }
      } finally {
        generatorFinalized = true;
      }
    }
    const src = p.generate(source, { buffer: 2 });
    const s1 = p.stage(
      src,
      async (v, signal) => {
        inFlight++;
        try {
          await sleep(5, signal, clock);
          return v;
        } finally {
          inFlight--;
        }
      },
      { concurrency: 3, ordered: true },
    );
    const s2 = p.stage(s1, (v) => {
      if (v === 7) throw boom;
      return v;
    });
    const [t1, t2] = p.tee(s2, 2);
    const s3 = p.stage(t1!, (v) => {
      stage3Calls++;
      return v;
    });
    const merged = p.merge(s3, t2!);
    const consumed: number[] = [];
    const consumer = (async () => {
      for await (const v of merged) consumed.push(v);
    })();
    let errors = 0;
    const waited = p.wait().then(
      () => 'resolved',
      (e: unknown) => {
        errors++;
        return e;
      },
    );
    await clock.advanceAsync(100);
    expect(await waited).toBe(boom);
    await consumer;
    expect(errors).toBe(1);
    expect(p.signal.reason).toBe(boom);
    expect(p.running).toBe(0);
    expect(inFlight).toBe(0);
    expect(generatorFinalized).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    expect(blocked(src, s1, s2, t1!, t2!, s3, merged)).toBe(0);
    expect([src, s1, s2, t1, t2, s3, merged].every((c) => c!.closed)).toBe(true);
    expect(Math.max(...consumed)).toBeLessThan(7);
    expect(stage3Calls).toBeLessThanOrEqual(7);
  });

  it('an error in an ordered concurrent stage waits for its other calls before wait settles', async () => {
    const p = pipeline();
    let running = 0;
    const gates: Array<() => void> = [];
    const out = p.stage(
      p.generate(range(10)),
      (v) =>
        new Promise<number>((resolve, reject) => {
          running++;
          gates[v] = () => {
            running--;
            if (v === 0) reject(new Error('first fails'));
            else resolve(v);
          };
        }),
      { concurrency: 4, ordered: true },
    );
    void drain(out);
    await flush();
    expect(running).toBe(4);
    let settled = false;
    const w = p.wait().catch((e: unknown) => {
      settled = true;
      return e;
    });
    gates[0]!();
    await flush();
    expect(settled).toBe(false); // calls 1..3 still running
    // Finish them out of order: the call the reader holds first, then the queued ones.
    gates[3]!();
    await flush();
    expect(settled).toBe(false);
    gates[1]!();
    await flush();
    expect(settled).toBe(false);
    gates[2]!();
    expect(((await w) as Error).message).toBe('first fails');
    expect(running).toBe(0);
    expect(p.running).toBe(0);
  });

  it('cancel stops everything and wait rejects with the reason', async () => {
    const p = pipeline();
    const src = p.generate(
      (function* () {
        for (let i = 0; ; i++) yield i;
      })(),
    );
    const out = p.stage(src, async (v) => v + 1, { concurrency: 2 });
    expect((await out.recv()).ok).toBe(true);
    const why = new Error('user hit ctrl-c');
    p.cancel(why);
    await expect(p.wait()).rejects.toBe(why);
    expect(p.running).toBe(0);
    expect(blocked(src, out)).toBe(0);
  });

  it('a parent abort stops the pipeline; an already-aborted parent stops it at once', async () => {
    const parent = new AbortController();
    const p = pipeline(parent.signal);
    const out = p.stage(p.generate(range(100)), (v) => v);
    await out.recv();
    parent.abort();
    await expect(p.wait()).rejects.toSatisfy(isCanceled);

    const why = new Error('gone');
    const q = pipeline(AbortSignal.abort(why));
    const o = q.stage(q.generate([1, 2]), (v) => v);
    expect(await drain(o)).toEqual([]);
    await expect(q.wait()).rejects.toBe(why);
  });

  it('go runs custom tasks; sink with concurrency; wait resolves and releases the parent', async () => {
    const parent = new AbortController();
    const p = pipeline(parent.signal);
    const ch = new Channel<number>();
    p.go(async (signal) => {
      for (let i = 0; i < 10; i++) await ch.send(i, signal);
      ch.close();
    });
    let active = 0;
    let max = 0;
    let sum = 0;
    p.sink(
      ch,
      async (v) => {
        active++;
        max = Math.max(max, active);
        await flush();
        sum += v;
        active--;
      },
      { concurrency: 3 },
    );
    await p.wait();
    expect(sum).toBe(45);
    expect(max).toBe(3);
    expect(getEventListeners(parent.signal, 'abort')).toHaveLength(0);
    expect(p.signal.aborted).toBe(true);
  });

  it('a failing sink or go task fails the pipeline', async () => {
    const p = pipeline();
    p.sink(p.generate(range(5)), (v) => {
      if (v === 3) throw new Error('sink says no');
    });
    await expect(p.wait()).rejects.toThrow('sink says no');

    const q = pipeline();
    q.go(() => {
      throw new Error('sync task throw');
    });
    await expect(q.wait()).rejects.toThrow('sync task throw');
  });

  it('wait(signal) stops waiting without cancelling the pipeline', async () => {
    const p = pipeline();
    const ch = new Channel<number>();
    const out = p.stage(ch, (v) => v);
    const ctl = new AbortController();
    const w = p.wait(ctl.signal);
    ctl.abort(new Error('impatient'));
    await expect(w).rejects.toThrow('impatient');
    expect(p.signal.aborted).toBe(false);
    ch.close();
    expect(await drain(out)).toEqual([]);
    await p.wait();
  });

  it('property: whatever the shape and wherever the error, wait reports it once and nothing is left', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            concurrency: fc.integer({ min: 1, max: 4 }),
            ordered: fc.boolean(),
            buffer: fc.integer({ min: 0, max: 2 }),
            delay: fc.integer({ min: 0, max: 3 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: 0, max: 30 }),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 29 })), { nil: undefined }),
        fc.boolean(),
        async (stages, count, failAt, split) => {
          const p = pipeline();
          const boom = new Error('boom');
          let inFlight = 0;
          const channels: Channel<number>[] = [];
          let ch = p.generate(range(count));
          channels.push(ch);
          stages.forEach((st, si) => {
            ch = p.stage(
              ch,
              async (v) => {
                inFlight++;
                try {
                  for (let k = 0; k < (v + si) % (st.delay + 1); k++) await Promise.resolve();
                  if (failAt !== undefined && failAt[0] % stages.length === si && v === failAt[1]) throw boom;
                  return v;
                } finally {
                  inFlight--;
                }
              },
              st,
            );
            channels.push(ch);
          });
          if (split) {
            const parts = p.fanOut(ch, 2);
            ch = p.merge(...parts);
            channels.push(...parts, ch);
          }
          const got = await drain(ch);
          const outcome = await p.wait().then(
            () => 'ok',
            (e: unknown) => e,
          );
          const fails = failAt !== undefined && failAt[1] < count;
          if (fails) {
            expect(outcome).toBe(boom);
          } else {
            expect(outcome).toBe('ok');
            const ordered = stages.every((s) => s.concurrency === 1 || s.ordered) && !split;
            if (ordered) expect(got).toEqual(range(count));
            else expect(got.slice().sort((a, b) => a - b)).toEqual(range(count));
          }
          expect(p.running).toBe(0);
          expect(inFlight).toBe(0);
          expect(blocked(...channels)).toBe(0);
          expect(channels.every((c) => c.closed)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
