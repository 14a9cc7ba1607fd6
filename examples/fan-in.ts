/**
 * The seed's "Example of Fan-In": five tasks send into one unbuffered channel; main receives five
 * values from it.
 *
 * Go prints the squares in whatever order the goroutines run. Here blocked senders are served
 * first-come first-served and the tasks start in order, so the output is always 1 4 9 16 25.
 *
 *   npx tsx examples/fan-in.ts
 */
import { Channel } from '../src/conc/index.js';

async function square(n: number, ch: Channel<number>): Promise<void> {
  await ch.send(n * n);
}

const ch = new Channel<number>();
for (let i = 1; i <= 5; i++) void square(i, ch); // Go: go square(i, ch)

for (let i = 1; i <= 5; i++) console.log((await ch.recv()).value);
