/**
 * The seed's select pattern 2, "Default Case for Non-blocking Operations": a select with a
 * `default` never waits. `trySelect` is that select: it performs a ready case, or returns
 * `undefined` (the default case) and touches nothing.
 *
 *   select {
 *   case result := <-ch: // Handle result
 *   default:             // Do something else if no data is ready
 *   }
 *
 *   npx tsx examples/select-default.ts
 */
import { Channel, recvCase, sendCase, trySelect } from '../src/conc/index.js';

const ch = new Channel<number>(1);

function poll(): void {
  const r = trySelect([recvCase(ch)]);
  if (r === undefined) console.log('no value ready, doing something else');
  else console.log(`received ${r.value}`);
}

poll(); // nothing sent yet
await ch.send(42);
poll(); // the buffered value is taken at once

// A non-blocking send: `select { case ch <- v: default: }`, here as `trySend`.
for (const v of [1, 2]) {
  if (trySelect([sendCase(ch, v)]) !== undefined) console.log(`sent ${v}`);
  else console.log(`channel full, dropped ${v}`);
}
console.log(`still buffered: ${ch.tryRecv()?.value}`);
