/**
 * The seed's "Using golang.org/x/sync/semaphore": `semaphore.NewWeighted(3)`, ten tasks each
 * acquiring weight 1 before they start and releasing it when done.
 *
 *   sem := semaphore.NewWeighted(3)
 *   for i := 0; i < 10; i++ {
 *       if err := sem.Acquire(ctx, 1); err != nil { /* Handle error *\/ }
 *       go func(i int) { defer sem.Release(1); /* Access resource *\/ }(i)
 *   }
 *
 * As in semaphore-channel.ts, each task holds the resource for 100 ms, and the program waits
 * for them all (acquiring the full weight, the x/sync idiom) before reporting.
 *
 *   npx tsx examples/semaphore-weighted.ts
 */
import { background, sleep, Weighted } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

await run(async () => {
  const ctx = background();
  const sem = new Weighted(3); // Limit to 3
  let inside = 0;
  let most = 0;

  for (let i = 0; i < 10; i++) {
    try {
      await sem.acquire(1, ctx);
    } catch (err) {
      console.log(`failed to acquire: ${String(err)}`); // Handle error
      break;
    }
    void (async () => {
      try {
        most = Math.max(most, ++inside);
        console.log(`task ${i}: accessing resource`);
        await sleep(100, undefined, clock);
        inside--;
      } finally {
        sem.release(1);
      }
    })();
  }
  // Wait for every task: the whole weight is free only once all have released.
  await sem.acquire(3, ctx);
  console.log(`at most ${most} tasks were inside at once`);
});
