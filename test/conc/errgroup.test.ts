// Ports golang.org/x/sync/errgroup/errgroup_test.go (TestZeroGroup, TestWithContext, TestTryGo,
// TestGoLimit, TestCancelCause, ExampleGroup_parallel) plus the TypeScript-specific parts: the
// FIFO queue that replaces Go's blocking g.Go, and rejections as errors.
import { describe, expect, it } from 'vitest';
import { flush } from '../../src/conc/clock.js';
import { background, isCanceled } from '../../src/conc/context.js';
import { Group, withContext } from '../../src/conc/errgroup.js';

/** An unbuffered rendezvous like Go's `make(chan struct{})`, enough for these tests. */
class Rendezvous {
  #senders: Array<() => void> = [];
  #receivers: Array<() => void> = [];
  send(): Promise<void> {
    const r = this.#receivers.shift();
    if (r) {
      r();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#senders.push(resolve));
  }
  recv(): Promise<void> {
    const s = this.#senders.shift();
    if (s) {
      s();
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#receivers.push(resolve));
  }
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (error) {
    return { ok: false, error };
  }
}

describe('errgroup (ported from errgroup_test.go)', () => {
  it('TestZeroGroup: wait returns the first error after each go', async () => {
    const err1 = new Error('errgroup_test: 1');
    const err2 = new Error('errgroup_test: 2');
    const cases: Array<Array<Error | null>> = [[], [null], [err1], [err1, null], [err1, null, err2]];
    for (const errs of cases) {
      const g = new Group();
      let firstErr: Error | null = null;
      for (const err of errs) {
        g.go(() => {
          if (err) throw err;
        });
        if (firstErr === null && err !== null) firstErr = err;
        const got = await settle(g.wait());
        if (firstErr === null) expect(got.ok).toBe(true);
        else expect(got).toEqual({ ok: false, error: firstErr });
      }
    }
  });

  it('TestWithContext: wait returns the first error and the signal is aborted afterwards', async () => {
    const errDoom = new Error('group_test: doomed');
    const cases: Array<{ errs: Array<Error | null>; want: Error | null }> = [
      { errs: [], want: null },
      { errs: [null], want: null },
      { errs: [errDoom], want: errDoom },
      { errs: [errDoom, null], want: errDoom },
    ];
    for (const tc of cases) {
      const { group: g, signal } = withContext(background());
      for (const err of tc.errs) {
        g.go(async () => {
          if (err) throw err;
        });
      }
      const got = await settle(g.wait());
      if (tc.want === null) expect(got.ok).toBe(true);
      else expect(got).toEqual({ ok: false, error: tc.want });
      expect(signal.aborted).toBe(true);
    }
  });

  it('TestTryGo', async () => {
    const g = new Group();
    const n = 42;
    g.setLimit(42);
    const ch = new Rendezvous();
    const fn = () => ch.send();
    for (let i = 0; i < n; i++) {
      expect(g.tryGo(fn), `TryGo should succeed at call ${i}`).toBe(true);
    }
    expect(g.tryGo(fn)).toBe(false);
    void (async () => {
      for (let i = 0; i < n; i++) await ch.recv();
    })();
    await g.wait();

    expect(g.tryGo(fn)).toBe(true);
    void ch.recv();
    await g.wait();

    // Switch limit.
    g.setLimit(1);
    expect(g.tryGo(fn)).toBe(true);
    expect(g.tryGo(fn)).toBe(false);
    void ch.recv();
    await g.wait();

    // Block all calls.
    g.setLimit(0);
    for (let i = 0; i < 1 << 10; i++) expect(g.tryGo(fn)).toBe(false);
    await g.wait();
  });

  it('TestGoLimit: never more than the limit active', async () => {
    const limit = 10;
    const g = new Group();
    g.setLimit(limit);
    let active = 0;
    let maxActive = 0;
    let ran = 0;
    for (let i = 0; i <= 1 << 10; i++) {
      g.go(async () => {
        const n = ++active;
        maxActive = Math.max(maxActive, n);
        if (n > limit) throw new Error(`saw ${n} active goroutines; want ≤ ${limit}`);
        // Give other tasks a chance to increment active (Go sleeps 1µs).
        for (let k = 0; k < i % 3; k++) await Promise.resolve();
        await flush();
        active--;
        ran++;
      });
      expect(g.active).toBeLessThanOrEqual(limit);
    }
    expect(g.queued).toBe((1 << 10) + 1 - limit);
    await g.wait();
    expect(maxActive).toBe(limit);
    expect(ran).toBe((1 << 10) + 1);
  });

  it('TestCancelCause: the signal reason is the first error, or canceled', async () => {
    const errDoom = new Error('group_test: doomed');
    const cases: Array<{ errs: Array<Error | null>; want: Error | null }> = [
      { errs: [], want: null },
      { errs: [null], want: null },
      { errs: [errDoom], want: errDoom },
      { errs: [errDoom, null], want: errDoom },
    ];
    for (const tc of cases) {
      const { group: g, signal } = withContext(background());
      for (const err of tc.errs) {
        g.tryGo(() => {
          if (err) throw err;
        });
      }
      const got = await settle(g.wait());
      if (tc.want === null) {
        expect(got.ok).toBe(true);
        expect(isCanceled(signal.reason)).toBe(true);
      } else {
        expect(got).toEqual({ ok: false, error: tc.want });
        expect(signal.reason).toBe(tc.want);
      }
    }
  });

  it('ExampleGroup_parallel: results by index, first error cancels the rest', async () => {
    const search = (kind: string) => async (signal: AbortSignal, query: string) => {
      signal.throwIfAborted();
      await flush();
      return `${kind} result for "${query}"`;
    };
    const searches = [search('web'), search('image'), search('video')];
    const google = async (parent: AbortSignal, query: string): Promise<string[]> => {
      const { group: g, signal } = withContext(parent);
      const results: string[] = new Array(searches.length);
      searches.forEach((s, i) => {
        g.go(async () => {
          results[i] = await s(signal, query);
        });
      });
      await g.wait();
      return results;
    };
    expect(await google(background(), 'golang')).toEqual([
      'web result for "golang"',
      'image result for "golang"',
      'video result for "golang"',
    ]);
  });
});

describe('errgroup (TypeScript specifics)', () => {
  it('the first error aborts the derived signal at once, before wait', async () => {
    const { group, signal } = withContext();
    const doom = new Error('doom');
    const seen: unknown[] = [];
    group.go(
      (s) =>
        new Promise<void>((_, reject) => {
          s.addEventListener('abort', () => {
            seen.push(s.reason);
            reject(s.reason);
          });
        }),
    );
    group.go(async () => {
      await flush();
      throw doom;
    });
    await expect(group.wait()).rejects.toBe(doom);
    expect(signal.reason).toBe(doom);
    expect(seen).toEqual([doom]);
  });

  it('a later error does not replace the first', async () => {
    const g = new Group();
    const a = new Error('a');
    g.go(async () => {
      throw a;
    });
    g.go(async () => {
      await flush();
      throw new Error('b');
    });
    await expect(g.wait()).rejects.toBe(a);
  });

  it('a sync throw is an error like a rejection', async () => {
    const g = new Group();
    const e = new Error('sync');
    g.go(() => {
      throw e;
    });
    await expect(g.wait()).rejects.toBe(e);
  });

  it('returning an Error is not a failure', async () => {
    const g = new Group();
    g.go(() => new Error('just a value'));
    await expect(g.wait()).resolves.toBeUndefined();
  });

  it('go starts queued tasks in FIFO order as slots free', async () => {
    const g = new Group();
    g.setLimit(2);
    const started: number[] = [];
    const gates: Array<() => void> = [];
    for (let i = 0; i < 6; i++) {
      g.go(
        () =>
          new Promise<void>((resolve) => {
            started.push(i);
            gates[i] = resolve;
          }),
      );
    }
    expect(started).toEqual([0, 1]);
    gates[1]!();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!();
    gates[2]!();
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    gates[3]!();
    gates[4]!();
    await flush();
    gates[5]!();
    await g.wait();
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('wait waits for queued tasks too, and for tasks added while waiting', async () => {
    const g = new Group();
    g.setLimit(1);
    let count = 0;
    for (let i = 0; i < 5; i++)
      g.go(async () => {
        await flush();
        count++;
      });
    const w = g.wait();
    g.go(async () => {
      count++;
    });
    await w;
    expect(count).toBe(6);
  });

  it('setLimit while tasks run throws with Go’s message', async () => {
    const g = new Group();
    let release!: () => void;
    g.go(() => new Promise<void>((r) => (release = r)));
    expect(() => g.setLimit(3)).toThrow(
      'errgroup: modify limit while 1 goroutines in the group are still active',
    );
    g.setLimit(-1); // removing the limit is always allowed
    release();
    await g.wait();
    g.setLimit(3);
  });

  it('a limit of 0 holds go() tasks until the limit is raised', async () => {
    const g = new Group();
    g.setLimit(0);
    let ran = 0;
    g.go(() => {
      ran++;
    });
    g.go(() => {
      ran++;
    });
    await flush();
    expect(ran).toBe(0);
    expect(g.queued).toBe(2);
    g.setLimit(1);
    await g.wait();
    expect(ran).toBe(2);
  });

  it('a long queue of sync tasks does not overflow the stack', async () => {
    const g = new Group();
    g.setLimit(1);
    let release!: () => void;
    g.go(() => new Promise<void>((r) => (release = r)));
    let n = 0;
    for (let i = 0; i < 200_000; i++)
      g.go(() => {
        n++;
      });
    release();
    await g.wait();
    expect(n).toBe(200_000);
  });

  it('wait(signal) stops waiting on abort without touching the group', async () => {
    const { group, signal } = withContext();
    let release!: () => void;
    group.go(() => new Promise<void>((r) => (release = r)));
    const ctl = new AbortController();
    const w = group.wait(ctl.signal);
    const why = new Error('impatient');
    ctl.abort(why);
    await expect(w).rejects.toBe(why);
    expect(signal.aborted).toBe(false);
    release();
    await group.wait();
    expect(signal.aborted).toBe(true);
  });

  it('a parent abort reaches the tasks; the zero group hands out background()', async () => {
    const parent = new AbortController();
    const { group } = withContext(parent.signal);
    group.go((s) => new Promise((_, reject) => s.addEventListener('abort', () => reject(s.reason))));
    const why = new Error('parent gone');
    parent.abort(why);
    await expect(group.wait()).rejects.toBe(why);

    const zero = new Group();
    let got: AbortSignal | undefined;
    zero.go((s) => {
      got = s;
    });
    expect(got).toBe(background());
  });
});
