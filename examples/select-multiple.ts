/**
 * The seed's select pattern 5, "Combining Multiple Channel Operations": one select waits on two
 * channels and handles whichever delivers first.
 *
 *   select {
 *   case result1 := <-ch1: // Handle result from ch1
 *   case result2 := <-ch2: // Handle result from ch2
 *   }
 *
 * ch1 delivers every 100 ms (3 values), ch2 every 250 ms (2 values): the select sees them in
 * time order. (No two arrive at the same instant: when several cases are ready at once, select
 * picks one at random, as Go does.)
 *
 *   npx tsx examples/select-multiple.ts
 */
import { Channel, recvCase, select, sleep } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

function producer(name: string, every: number, count: number): Channel<string> {
  const ch = new Channel<string>();
  void (async () => {
    for (let i = 1; i <= count; i++) {
      await sleep(every, undefined, clock);
      await ch.send(`${name} message ${i}`);
    }
  })();
  return ch;
}

await run(async () => {
  const ch1 = producer('ch1', 100, 3);
  const ch2 = producer('ch2', 250, 2);
  for (let i = 0; i < 5; i++) {
    const r = await select([recvCase(ch1), recvCase(ch2)]);
    if (r.index === 0) console.log(`from ch1: ${r.value}`);
    else console.log(`from ch2: ${r.value}`);
  }
});
