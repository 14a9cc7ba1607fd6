// Weighted (trawl/conc) vs async-sema: acquire/release pairs per second, uncontended (one loop
// on a free semaphore) and contended (4 loops on a size-2 semaphore, so half of all acquires
// queue). Run: npx tsx bench/conc/semaphore.bench.ts
import { Sema } from 'async-sema';
import { newWeighted } from '../../src/conc/semaphore.js';

interface Sem {
  acquire(): Promise<unknown>;
  release(): void;
}

function weighted(size: number): Sem {
  const w = newWeighted(size);
  return { acquire: () => w.acquire(1), release: () => w.release(1) };
}

function asyncSema(size: number): Sem {
  const s = new Sema(size);
  return { acquire: () => s.acquire(), release: () => s.release() };
}

async function pairsPerSec(
  make: (size: number) => Sem,
  size: number,
  loops: number,
  ms = 1500,
): Promise<number> {
  const sem = make(size);
  let pairs = 0;
  let end = 0;
  // Only microtasks run inside a batch, so the deadline is checked by reading the clock.
  const run = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 1000; i++) {
        await sem.acquire();
        pairs++;
        sem.release();
      }
    }
  };
  end = performance.now() + 300; // warm-up
  await Promise.all(Array.from({ length: loops }, run));
  pairs = 0;
  const start = performance.now();
  end = start + ms;
  await Promise.all(Array.from({ length: loops }, run));
  return (pairs / (performance.now() - start)) * 1000;
}

const cases: [string, number, number][] = [
  ['uncontended (1 loop, size 1)', 1, 1],
  ['contended (4 loops, size 2)', 2, 4],
];
console.log('case                          trawl Weighted   async-sema   ratio');
for (const [label, size, loops] of cases) {
  const a = await pairsPerSec(weighted, size, loops);
  const b = await pairsPerSec(asyncSema, size, loops);
  console.log(
    `${label.padEnd(30)}${`${(a / 1e6).toFixed(2)} M/s`.padStart(14)}${`${(b / 1e6).toFixed(2)} M/s`.padStart(13)}${`${(a / b).toFixed(2)}x`.padStart(8)}`,
  );
}
