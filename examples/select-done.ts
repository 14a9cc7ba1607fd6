/**
 * The seed's select pattern 4, "Select with Done Channel for Cancellation": a closed channel is
 * always ready, so closing `done` reaches every select that has a `<-done` case.
 *
 *   done := make(chan struct{})
 *   select {
 *   case <-done:         // Handle cancellation
 *   case result := <-ch: // Handle result
 *   }
 *
 * A producer sends a result every 100 ms; `done` is closed at 250 ms. Both the consumer and the
 * producer (blocked sending) select on `done`, so both stop.
 *
 *   npx tsx examples/select-done.ts
 */
import { Channel, recvCase, select, sendCase, sleep } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

await run(async () => {
  const done = new Channel<void>();
  const ch = new Channel<number>();

  // Producer: `for { select { case ch <- i: case <-done: return } }`
  const producer = (async () => {
    for (let i = 1; ; i++) {
      await sleep(100, undefined, clock);
      const r = await select([sendCase(ch, i), recvCase(done)]);
      if (r.index === 1) {
        console.log('producer: done, stopping');
        return;
      }
    }
  })();

  // Whoever decides to cancel closes `done`.
  void sleep(250, undefined, clock).then(() => done.close());

  // Consumer
  for (;;) {
    const r = await select([recvCase(done), recvCase(ch)]);
    if (r.index === 0) {
      console.log('consumer: cancelled');
      break;
    }
    console.log(`consumer: result ${r.value}`);
  }
  await producer;
});
