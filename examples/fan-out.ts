/**
 * The seed's "Example of Fan-Out": five tasks started with a WaitGroup, then waited for.
 *
 * Go's `go f()` is an async call that is not awaited. Go prints the five lines in whatever order
 * the goroutines run; an async function runs synchronously up to its first `await` (these have
 * none), so here the order is always 1..5.
 *
 *   npx tsx examples/fan-out.ts
 */
import { WaitGroup } from '../src/conc/index.js';

async function worker(id: number, wg: WaitGroup): Promise<void> {
  try {
    console.log(`Worker ${id} is processing`);
  } finally {
    wg.done(); // Go: defer wg.Done()
  }
}

const wg = new WaitGroup();
for (let i = 1; i <= 5; i++) {
  wg.add(1);
  void worker(i, wg); // Go: go worker(i, &wg)
}
await wg.wait();
// With Go 1.25's `wg.Go`, `wg.go(fn)` does the add(1) before and the done() after `fn`.
