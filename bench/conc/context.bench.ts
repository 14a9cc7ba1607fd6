/**
 * Context memory and speed: 100k short-lived children of one long-lived parent must leave the
 * heap where it started (±5 MB after GC) and leave no listener and no timer on the parent.
 * Run: `node --expose-gc --import tsx bench/conc/context.bench.ts` (exits 1 if the budget is
 * exceeded). For reference it also measures `AbortSignal.any([parent])`, the platform's way to
 * derive a signal, which keeps per-child state on the parent until GC runs.
 */
import { getEventListeners } from 'node:events';
import { withCancel, withTimeout } from '../../src/conc/context.js';

const N = Number(process.env.N ?? 100_000);
const BUDGET = 5 * 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('run with: node --expose-gc --import tsx bench/conc/context.bench.ts');
  process.exit(2);
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setImmediate(r));
    gc!();
  }
  return process.memoryUsage().heapUsed;
}

const mb = (b: number) => `${(b / 1024 / 1024).toFixed(2)} MB`;
let failed = false;

async function scenario(name: string, make: (parent: AbortSignal) => void, check = true): Promise<void> {
  const root = withCancel(); // the long-lived parent, e.g. a server's root context
  const parent = root.signal;
  make(parent); // warm up (JIT, lazily allocated internals) before the baseline
  const before = await settledHeap();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) make(parent);
  const dt = performance.now() - t0;
  const after = await settledHeap();
  const listeners = getEventListeners(parent, 'abort').length;
  const growth = after - before;
  const ok = Math.abs(growth) <= BUDGET && listeners === 0;
  if (check && !ok) failed = true;
  console.log(
    `${name.padEnd(44)} ${((dt * 1e6) / N).toFixed(0).padStart(6)} ns/op   heap ${mb(before)} -> ${mb(after)} (${growth >= 0 ? '+' : ''}${mb(growth)})   parent listeners ${listeners}${check ? (ok ? '   ok' : '   OVER BUDGET') : '   (reference)'}`,
  );
  root.cancel();
}

console.log(`node ${process.version}: ${N} children created and finished per scenario`);
await scenario('withCancel(parent) + cancel()', (p) => withCancel(p).cancel());
await scenario('withTimeout(parent, 60s) + cancel()', (p) => withTimeout(p, 60_000).cancel());
await scenario('withTimeout(withCancel(parent)) + cancel both', (p) => {
  const a = withCancel(p);
  withTimeout(a.signal, 60_000).cancel();
  a.cancel();
});
// Children that are never cancelled but whose parent is: the whole subtree must go.
await scenario('withCancel(child of parent), subtree cancelled', (p) => {
  const mid = withCancel(p);
  withCancel(mid.signal);
  withCancel(mid.signal);
  mid.cancel();
});
await scenario('AbortSignal.any([parent]) (platform)', (p) => void AbortSignal.any([p]), false);

if (failed) {
  console.log('FAIL: heap growth over ±5 MB or listeners left on the parent');
  process.exit(1);
}
console.log('all scenarios within ±5 MB, no listeners left');
