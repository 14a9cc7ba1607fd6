import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type RenderDecision,
  RenderLearner,
  type RenderReason,
  resultsAgree,
} from '../../src/crawl/render/render-learner.js';
import type { ShellVerdict } from '../../src/crawl/render/shell-detect.js';

const SHELL: ShellVerdict = { shell: true, reasons: ['little-text'], text: 0, scripts: 1, scriptBytes: 0 };
const PLAIN: ShellVerdict = { shell: false, reasons: [], text: 5000, scripts: 1, scriptBytes: 0 };

/** Decides `n` shell pages of `key`, observing `agreed` after each one rendered; returns the reasons. */
function run(l: RenderLearner, key: string, n: number, agreed = true): RenderReason[] {
  const out: RenderReason[] = [];
  for (let i = 0; i < n; i++) {
    const d = l.decide(key, SHELL);
    out.push(d.reason);
    if (d.render) l.observe(key, agreed);
  }
  return out;
}

const count = (rs: RenderReason[], r: RenderReason): number => rs.filter((x) => x === r).length;

describe('RenderLearner', () => {
  it('renders shells until agreeAfter agreements, then goes plain', () => {
    const l = new RenderLearner();
    expect(run(l, 'h|a', 5)).toEqual(['shell', 'shell', 'shell', 'learned-plain', 'learned-plain']);
    expect(l.learned('h|a')).toBe(true);
  });

  it('never renders a page that is neither a shell nor empty, and keeps no state for it', () => {
    const l = new RenderLearner();
    for (let i = 0; i < 10; i++) expect(l.decide(`k${i}`, PLAIN)).toEqual({ render: false, reason: 'plain' });
    expect(l.stats()).toEqual({
      rendered: { shell: 0, 'empty-handler': 0, recheck: 0 },
      plain: 10,
      learnedPlain: 0,
      keys: 0,
      learnedKeys: 0,
    });
  });

  it('renders a page whose handler found nothing, shell taking precedence as the reason', () => {
    const l = new RenderLearner();
    expect(l.decide('k', PLAIN, true)).toEqual({ render: true, reason: 'empty-handler' });
    expect(l.decide('k', SHELL, true)).toEqual({ render: true, reason: 'shell' });
    expect(l.decide('k', PLAIN, false)).toEqual({ render: false, reason: 'plain' });
  });

  it('a learned key also skips empty-handler pages, and rechecks them', () => {
    const l = new RenderLearner({ recheckEvery: 2 });
    run(l, 'k', 3);
    expect(l.decide('k', PLAIN, true).reason).toBe('learned-plain');
    expect(l.decide('k', PLAIN, true).reason).toBe('recheck');
  });

  it('rechecks every recheckEvery-th page of a learned key', () => {
    const l = new RenderLearner({ agreeAfter: 3, recheckEvery: 50 });
    run(l, 'k', 3);
    const rs = run(l, 'k', 200);
    const rechecks = rs.flatMap((r, i) => (r === 'recheck' ? [i] : []));
    expect(rechecks).toEqual([49, 99, 149, 199]);
    expect(count(rs, 'learned-plain')).toBe(196);
  });

  it('a disagreeing recheck puts the key back to rendering, and it must learn again', () => {
    const l = new RenderLearner({ agreeAfter: 3, recheckEvery: 4 });
    run(l, 'k', 3);
    expect(run(l, 'k', 3)).toEqual(['learned-plain', 'learned-plain', 'learned-plain']);
    const d = l.decide('k', SHELL);
    expect(d).toEqual({ render: true, reason: 'recheck' });
    l.observe('k', false);
    expect(l.learned('k')).toBe(false);
    expect(run(l, 'k', 4)).toEqual(['shell', 'shell', 'shell', 'learned-plain']);
  });

  it('a disagreement resets the streak', () => {
    const l = new RenderLearner({ agreeAfter: 3 });
    l.observe('k', true);
    l.observe('k', true);
    l.observe('k', false);
    l.observe('k', true);
    l.observe('k', true);
    expect(l.decide('k', SHELL).reason).toBe('shell');
    l.observe('k', true);
    expect(l.decide('k', SHELL).reason).toBe('learned-plain');
  });

  it('a late disagreement (pages in flight) still un-learns', () => {
    const l = new RenderLearner({ agreeAfter: 2 });
    // Four pages decided before any observation arrives: all rendered.
    const ds = [1, 2, 3, 4].map(() => l.decide('k', SHELL));
    expect(ds.every((d) => d.render)).toBe(true);
    l.observe('k', true);
    l.observe('k', true);
    expect(l.learned('k')).toBe(true);
    l.observe('k', false);
    expect(l.learned('k')).toBe(false);
    expect(l.decide('k', SHELL).reason).toBe('shell');
  });

  it('keys learn independently', () => {
    const l = new RenderLearner();
    run(l, 'a.example|list', 3);
    expect(run(l, 'a.example|detail', 1, false)).toEqual(['shell']);
    expect(l.decide('a.example|list', SHELL).reason).toBe('learned-plain');
    expect(l.decide('a.example|detail', SHELL).reason).toBe('shell');
  });

  it('forgets the least recently used key beyond maxKeys (it renders again)', () => {
    const l = new RenderLearner({ maxKeys: 2, agreeAfter: 1 });
    run(l, 'a', 1);
    run(l, 'b', 1);
    expect(l.decide('a', SHELL).reason).toBe('learned-plain'); // a is now more recent than b
    run(l, 'c', 1); // evicts b
    expect(l.stats().keys).toBe(2);
    expect(l.learned('b')).toBe(false);
    expect(l.decide('b', SHELL).reason).toBe('shell'); // evicts a
    expect(l.learned('a')).toBe(false);
    expect(l.learned('c')).toBe(true);
  });

  it('recheckEvery: Infinity never rechecks; 1 rechecks every page', () => {
    const never = new RenderLearner({ agreeAfter: 1, recheckEvery: Number.POSITIVE_INFINITY });
    run(never, 'k', 1);
    expect(count(run(never, 'k', 1000), 'learned-plain')).toBe(1000);
    const always = new RenderLearner({ agreeAfter: 1, recheckEvery: 1 });
    run(always, 'k', 1);
    expect(run(always, 'k', 5)).toEqual(['recheck', 'recheck', 'recheck', 'recheck', 'recheck']);
  });

  it('rejects out-of-range options', () => {
    expect(() => new RenderLearner({ agreeAfter: 0 })).toThrow(/agreeAfter/);
    expect(() => new RenderLearner({ agreeAfter: 1.5 })).toThrow(/agreeAfter/);
    expect(() => new RenderLearner({ recheckEvery: 0 })).toThrow(/recheckEvery/);
    expect(() => new RenderLearner({ recheckEvery: Number.NaN })).toThrow(/recheckEvery/);
    expect(() => new RenderLearner({ maxKeys: 0 })).toThrow(/maxKeys/);
  });

  it('stats count every decision by reason', () => {
    const l = new RenderLearner({ agreeAfter: 2, recheckEvery: 3 });
    run(l, 'k', 8); // shell, shell, lp, lp, recheck, lp, lp, recheck
    l.decide('k2', PLAIN, true);
    l.decide('k3', PLAIN);
    expect(l.stats()).toEqual({
      rendered: { shell: 2, 'empty-handler': 1, recheck: 2 },
      plain: 5,
      learnedPlain: 4,
      keys: 2,
      learnedKeys: 1,
    });
  });

  describe('properties', () => {
    type Op =
      | { kind: 'decide'; key: number; shell: boolean; empty: boolean }
      | { kind: 'observe'; key: number; agreed: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('decide' as const),
        key: fc.integer({ min: 0, max: 4 }),
        shell: fc.boolean(),
        empty: fc.boolean(),
      }),
      fc.record({
        kind: fc.constant('observe' as const),
        key: fc.integer({ min: 0, max: 4 }),
        agreed: fc.boolean(),
      }),
    );
    const opts = fc.record({
      agreeAfter: fc.integer({ min: 1, max: 4 }),
      recheckEvery: fc.integer({ min: 1, max: 6 }),
      maxKeys: fc.integer({ min: 1, max: 6 }),
    });
    const apply = (l: RenderLearner, ops: Op[]): (RenderDecision | null)[] =>
      ops.map((o) => {
        if (o.kind === 'observe') {
          l.observe(`k${o.key}`, o.agreed);
          return null;
        }
        return l.decide(`k${o.key}`, o.shell ? SHELL : PLAIN, o.empty);
      });

    it('goes plain only after agreeAfter agreements in a row since the last disagreement', () => {
      fc.assert(
        fc.property(opts, fc.array(op, { maxLength: 200 }), (o, ops) => {
          // With maxKeys ≥ the number of keys, nothing is forgotten: the history alone decides.
          const l = new RenderLearner({ ...o, maxKeys: 5 });
          const history = new Map<number, boolean[]>();
          for (const x of ops) {
            if (x.kind === 'observe') {
              l.observe(`k${x.key}`, x.agreed);
              history.set(x.key, [...(history.get(x.key) ?? []), x.agreed]);
              continue;
            }
            const d = l.decide(`k${x.key}`, x.shell ? SHELL : PLAIN, x.empty);
            const h = history.get(x.key) ?? [];
            const lastNo = h.lastIndexOf(false);
            const streak = h.length - 1 - lastNo;
            const needs = x.shell || x.empty;
            expect(d.render).toBe(
              d.reason === 'shell' || d.reason === 'empty-handler' || d.reason === 'recheck',
            );
            if (!needs) expect(d.reason).toBe('plain');
            else if (streak < o.agreeAfter) expect(d.reason).toBe(x.shell ? 'shell' : 'empty-handler');
            else expect(['learned-plain', 'recheck']).toContain(d.reason);
          }
        }),
      );
    });

    it('is deterministic, bounded, and counts every decision once', () => {
      fc.assert(
        fc.property(opts, fc.array(op, { maxLength: 200 }), (o, ops) => {
          const a = new RenderLearner(o);
          const b = new RenderLearner(o);
          const da = apply(a, ops);
          expect(apply(b, ops)).toEqual(da);
          const s = a.stats();
          expect(s.keys).toBeLessThanOrEqual(o.maxKeys);
          const decided = da.filter((d) => d !== null);
          const rendered = s.rendered.shell + s.rendered['empty-handler'] + s.rendered.recheck;
          expect(rendered + s.plain).toBe(decided.length);
          expect(rendered).toBe(decided.filter((d) => d.render).length);
          expect(s.learnedPlain).toBe(decided.filter((d) => d.reason === 'learned-plain').length);
        }),
      );
    });

    it('a learned key renders exactly one page in recheckEvery while all agree', () => {
      fc.assert(
        fc.property(opts, fc.integer({ min: 1, max: 20 }), (o, rounds) => {
          const l = new RenderLearner(o);
          run(l, 'k', o.agreeAfter);
          const rs = run(l, 'k', rounds * o.recheckEvery);
          expect(count(rs, 'recheck')).toBe(rounds);
          expect(count(rs, 'learned-plain')).toBe(rounds * (o.recheckEvery - 1));
        }),
      );
    });
  });
});

describe('resultsAgree', () => {
  const links = (n: number, prefix = 'http://a.test/p'): string[] =>
    Array.from({ length: n }, (_, i) => `${prefix}${i}`);

  it('agrees on the same title and links', () => {
    expect(resultsAgree({ title: 'T', links: links(5) }, { title: 'T', links: links(5) })).toBe(true);
  });

  it('disagrees on a different title (a shell says "Loading…", the script sets the real one)', () => {
    expect(resultsAgree({ title: 'Loading…', links: [] }, { title: 'SPA page 3', links: [] })).toBe(false);
    expect(resultsAgree({ title: null, links: [] }, { title: 'T', links: [] })).toBe(false);
  });

  it('compares titles modulo ASCII whitespace; no title equals an empty one', () => {
    expect(resultsAgree({ title: ' A \n B ', links: [] }, { title: 'A B', links: [] })).toBe(true);
    expect(resultsAgree({ title: null, links: [] }, { title: '  ', links: [] })).toBe(true);
    expect(resultsAgree({ title: 'A\u00a0B', links: [] }, { title: 'A B', links: [] })).toBe(false);
  });

  it('disagrees when the rendered page has a link the plain one lacks (small pages: none may be missing)', () => {
    expect(resultsAgree({ title: 'T', links: links(5) }, { title: 'T', links: links(6) })).toBe(false);
    expect(resultsAgree({ title: 'T', links: links(19) }, { title: 'T', links: links(20) })).toBe(true); // floor(0.05·20) = 1
  });

  it('tolerates 5 % missing links on long pages, not more', () => {
    const rendered = links(100);
    expect(resultsAgree({ title: 'T', links: rendered.slice(5) }, { title: 'T', links: rendered })).toBe(
      true,
    );
    expect(resultsAgree({ title: 'T', links: rendered.slice(6) }, { title: 'T', links: rendered })).toBe(
      false,
    );
  });

  it('plain links the rendered page lacks do not matter; duplicates count once', () => {
    expect(resultsAgree({ title: 'T', links: links(50) }, { title: 'T', links: links(3) })).toBe(true);
    expect(resultsAgree({ title: 'T', links: ['x'] }, { title: 'T', links: ['x', 'x', 'x'] })).toBe(true);
  });

  it('property: agrees whenever the rendered links are a subset and the title is the same', () => {
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 10 })),
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 30 }),
        fc.array(fc.string({ maxLength: 5 }), { maxLength: 30 }),
        (title, shared, extra) => {
          expect(resultsAgree({ title, links: [...extra, ...shared] }, { title, links: shared })).toBe(true);
        },
      ),
    );
  });
});
