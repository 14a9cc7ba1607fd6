import { after, newTimer, sleep, Ticker } from '../../src/conc/index.js';

const ticker = new Ticker(20); // time.NewTicker(20 * time.Millisecond)
let ticks = 0;
for await (const _tick of ticker.c) if (++ticks === 3) break;
ticker.stop(); // Go: defer ticker.Stop()
console.log('ticks', ticks);

const timer = newTimer(1000);
console.log('stopped before firing:', timer.stop()); // true

await sleep(10); // time.Sleep(10 * time.Millisecond), cancellable with a signal

// time.After is a timeout channel for select (see select.ts). As in Go, a program blocked on
// it waits for it (`await after(ms).recv()` works), and one nobody waits on holds nothing open:
// this 5 s timeout does not delay the end of the program.
const timeout = after(5000);
console.log('buffered:', timeout.length, 'capacity:', timeout.capacity); // buffered: 0 capacity: 1
