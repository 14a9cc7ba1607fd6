import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

// ARCHITECTURE.md: "A lower folder never imports a higher one; no two folders import each other."
const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports of a file (static, re-exports and dynamic), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm),
    ...text.matchAll(/^\s*import\s+'([^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1]!);
  return specs
    .filter((s) => s.startsWith('.'))
    .map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'));
}

/**
 * The layer unit of a file: its folder under src/, except that each file directly in src/crawl/
 * (crawler.ts, options.ts, record.ts, summary.ts ...) and in src/ is a unit of its own — the
 * engine's entry points sit there beside the leaf type record.ts.
 */
function unitOf(file: string): string {
  const rel = path.relative(SRC, file);
  const dir = path.dirname(rel);
  return dir === '.' || dir === 'crawl' ? rel : dir;
}

const files = sourceFiles(SRC);
const edges = new Map<string, Set<string>>();
const why = new Map<string, string>();
for (const f of files) {
  const from = unitOf(f);
  for (const target of importsOf(f)) {
    const to = unitOf(target);
    if (to === from) continue;
    if (!edges.has(from)) edges.set(from, new Set());
    edges.get(from)!.add(to);
    why.set(`${from} -> ${to}`, `${path.relative(SRC, f)} imports ${path.relative(SRC, target)}`);
  }
}

/** The import edges between units whose names start with `prefix`. */
function edgesWithin(prefix: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [from, tos] of edges) {
    if (!from.startsWith(prefix)) continue;
    out.set(from, new Set([...tos].filter((t) => t.startsWith(prefix))));
  }
  return out;
}

/** Every cycle's units in `edges` (Tarjan's strongly connected components of size > 1). */
function cycles(edges: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        on.delete(w);
        scc.push(w);
        if (w === v) break;
      }
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of edges.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('source layers (ARCHITECTURE.md)', () => {
  it('has no import cycle between the folders of src/crawl', () => {
    const found = cycles(edgesWithin('crawl/')).map((scc) => ({
      units: scc,
      because: [...why.entries()]
        .filter(([k]) => {
          const [a, b] = k.split(' -> ');
          return scc.includes(a!) && scc.includes(b!);
        })
        .map(([, v]) => v),
    }));
    expect(found).toEqual([]);
  });

  it('lower crawl folders never import the engine (crawler.ts, options.ts, engine/)', () => {
    const engine = new Set(['crawl/crawler.ts', 'crawl/options.ts', 'crawl/engine']);
    const bad = [...why.entries()]
      .filter(([k]) => {
        const [from, to] = k.split(' -> ') as [string, string];
        return (
          from.startsWith('crawl/') && !from.endsWith('.ts') && from !== 'crawl/engine' && engine.has(to)
        );
      })
      .map(([, v]) => v);
    expect(bad).toEqual([]);
  });

  it('conc stands alone: it imports nothing outside src/conc', () => {
    const bad = [...why.entries()].filter(([k]) => k.startsWith('conc ->')).map(([, v]) => v);
    expect(bad).toEqual([]);
  });

  it('the crawler never imports its faces (cli, dashboard) or the test site', () => {
    const bad = [...why.entries()]
      .filter(([k]) => k.startsWith('crawl') && /-> (cli|dashboard|testsite)/.test(k))
      .map(([, v]) => v);
    expect(bad).toEqual([]);
  });
});
