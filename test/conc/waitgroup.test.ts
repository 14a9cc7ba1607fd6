import { spawnSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flush } from '../../src/conc/clock.js';
import { WaitGroup } from '../../src/conc/waitgroup.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('WaitGroup', () => {
  it('wait resolves at once when the counter is zero', async () => {
    const wg = new WaitGroup();
    await wg.wait();
    expect(wg.count).toBe(0);
  });

  it('wait resolves only when every add is matched by done', async () => {
    const wg = new WaitGroup();
    wg.add(3);
    let done = false;
    const waiting = wg.wait().then(() => {
      done = true;
    });
    wg.done();
    wg.done();
    await flush();
    expect(done).toBe(false);
    wg.done();
    await waiting;
    expect(done).toBe(true);
  });

  it('wakes every waiter', async () => {
    const wg = new WaitGroup();
    wg.add(1);
    const ws = [wg.wait(), wg.wait(), wg.wait()];
    wg.done();
    await Promise.all(ws);
  });

  it('a negative counter throws and leaves the counter unchanged', () => {
    const wg = new WaitGroup();
    expect(() => wg.done()).toThrow('sync: negative WaitGroup counter');
    wg.add(2);
    expect(() => wg.add(-3)).toThrow('sync: negative WaitGroup counter');
    expect(wg.count).toBe(2);
    expect(() => wg.add(0.5)).toThrow(RangeError);
  });

  it('is reusable after a wait returned', async () => {
    const wg = new WaitGroup();
    for (let round = 0; round < 3; round++) {
      wg.add(2);
      const w = wg.wait();
      wg.done();
      wg.done();
      await w;
    }
  });

  it('wait rejects with the signal reason on abort and stops waiting', async () => {
    const wg = new WaitGroup();
    wg.add(1);
    const ctl = new AbortController();
    const why = new Error('gave up');
    const w = wg.wait(ctl.signal);
    ctl.abort(why);
    await expect(w).rejects.toBe(why);
    await expect(wg.wait(AbortSignal.abort(why))).rejects.toBe(why);
    wg.done();
    await wg.wait();
  });

  it('removes its abort listener when the wait completes', async () => {
    const wg = new WaitGroup();
    const ctl = new AbortController();
    wg.add(1);
    const w = wg.wait(ctl.signal);
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(1);
    wg.done();
    await w;
    expect(getEventListeners(ctl.signal, 'abort')).toHaveLength(0);
  });

  it('go tracks sync and async functions', async () => {
    const wg = new WaitGroup();
    const gates = [deferred(), deferred()];
    let sync = 0;
    wg.go(() => {
      sync++;
    });
    expect(sync).toBe(1);
    expect(wg.count).toBe(0);
    wg.go(() => gates[0]!.promise);
    wg.go(async () => {
      await gates[1]!.promise;
    });
    expect(wg.count).toBe(2);
    let finished = false;
    const w = wg.wait().then(() => {
      finished = true;
    });
    gates[0]!.resolve();
    await flush();
    expect(finished).toBe(false);
    expect(wg.count).toBe(1);
    gates[1]!.resolve();
    await w;
    expect(finished).toBe(true);
  });

  it('go reports a throw or rejection to onError and still calls done', async () => {
    const errors: unknown[] = [];
    const wg = new WaitGroup({ onError: (e) => errors.push(e) });
    const a = new Error('sync throw');
    const b = new Error('async reject');
    wg.go(() => {
      throw a;
    });
    wg.go(async () => {
      await flush();
      throw b;
    });
    await wg.wait();
    expect(errors).toEqual([a, b]);
    expect(wg.count).toBe(0);
  });

  it('by default a failing go function surfaces as an uncaught exception', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-'));
    try {
      const script = join(dir, 'fail.mts');
      const src = resolve('src/conc/waitgroup.ts');
      writeFileSync(
        script,
        `import { WaitGroup } from ${JSON.stringify(src)};\n` +
          `const wg = new WaitGroup();\n` +
          `wg.go(async () => { throw new Error('boom-from-go'); });\n` +
          `await wg.wait();\nconsole.log('waited');\n`,
      );
      const r = spawnSync(process.execPath, ['--import', 'tsx', script], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.stderr).toContain('boom-from-go');
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
