/**
 * The seed's "Buffered Channels as Semaphores": a channel of capacity 3 holds one token per
 * task inside; sending acquires (blocking while 3 are inside), receiving releases.
 *
 *   sem := make(chan struct{}, 3)
 *   for i := 0; i < 10; i++ {
 *       sem <- struct{}{} // Acquire
 *       go func(i int) { defer func() { <-sem }(); /* Access resource *\/ }(i)
 *   }
 *
 * Each task holds the resource for 100 ms and prints when it starts. Go's snippet does not wait
 * for its goroutines; this waits with a WaitGroup and then reports the most seen inside at once.
 *
 *   npx tsx examples/semaphore-channel.ts
 */
import { Channel, sleep, WaitGroup } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

await run(async () => {
  const sem = new Channel<void>(3); // Limit to 3 concurrent accesses
  const wg = new WaitGroup();
  let inside = 0;
  let most = 0;

  for (let i = 0; i < 10; i++) {
    await sem.send(); // Acquire
    wg.go(async () => {
      try {
        most = Math.max(most, ++inside);
        console.log(`task ${i}: accessing resource`);
        await sleep(100, undefined, clock);
        inside--;
      } finally {
        await sem.recv(); // Release
      }
    });
  }
  await wg.wait();
  console.log(`at most ${most} tasks were inside at once`);
});
