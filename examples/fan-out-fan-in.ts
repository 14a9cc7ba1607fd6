/**
 * The seed's "Example of Combined Patterns": five workers send into one buffered channel, a
 * closer task closes it once the WaitGroup is done, and main ranges over it until it is closed.
 *
 * Go prints the squares in whatever order the goroutines run; here always 1 4 9 16 25.
 *
 *   npx tsx examples/fan-out-fan-in.ts
 */
import { Channel, WaitGroup } from '../src/conc/index.js';

async function worker(id: number, ch: Channel<number>, wg: WaitGroup): Promise<void> {
  try {
    await ch.send(id * id);
  } finally {
    wg.done();
  }
}

const wg = new WaitGroup();
const ch = new Channel<number>(5);

for (let i = 1; i <= 5; i++) {
  wg.add(1);
  void worker(i, ch, wg);
}

void (async () => {
  await wg.wait();
  ch.close();
})();

for await (const result of ch) console.log(result);
