/**
 * The seed's select pattern 3, "Nil Channel Tricks": a case on a nil channel is never ready, so
 * setting a channel variable to nil switches its case off. Here `null` is the nil channel.
 *
 * The classic use: merge two channels, and once one is closed, disable its case so the loop
 * keeps receiving from the other instead of spinning on the closed one. Which channel a ready
 * select picks is random (as in Go), so the values are printed sorted.
 *
 * The seed's snippet on its own — `var ch chan int; select { case <-ch: }` — blocks forever (Go
 * reports a deadlock); with only nil cases, a select here waits until its signal aborts.
 *
 *   npx tsx examples/select-nil-channel.ts
 */
import { Channel, isCanceled, recvCase, select, sleep, withCancel } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

function closedWith(...values: number[]): Channel<number> {
  const ch = new Channel<number>(values.length);
  for (const v of values) ch.trySend(v);
  ch.close();
  return ch;
}

await run(async () => {
  let a: Channel<number> | null = closedWith(1, 2, 3);
  let b: Channel<number> | null = closedWith(10, 20);
  const received: number[] = [];
  while (a !== null || b !== null) {
    const r = await select([recvCase(a), recvCase(b)]);
    if (r.ok) received.push(r.value);
    else if (r.index === 0)
      a = null; // closed: switch this case off
    else b = null;
  }
  console.log(`received ${received.length} values: ${received.sort((x, y) => x - y).join(' ')}`);
  console.log('both channels closed, loop done');

  // `select { case <-ch: }` with ch nil is never ready; here someone cancels it after 100 ms.
  // (A `withTimeout` signal would do too, but its timer, like every timeout's, does not keep
  // Node alive: a program awaiting nothing but a timeout simply exits. `sleep` does.)
  const ch: Channel<number> | null = null;
  const { signal, cancel } = withCancel();
  void sleep(100, undefined, clock).then(() => cancel());
  try {
    await select([recvCase(ch)], signal);
  } catch (err) {
    console.log(`nil channel never ready: ${isCanceled(err) ? 'select cancelled' : String(err)}`);
  }
});
