import { sleep, WaitGroup } from '../../src/conc/index.js';

const wg = new WaitGroup();
const fetched: string[] = [];
for (const page of ['a', 'b', 'c']) {
  wg.go(async () => {
    // Go 1.25: wg.Go(func() { ... })
    await sleep(10);
    fetched.push(page);
  });
}
await wg.wait();
console.log('fetched', fetched.sort().join(' ')); // fetched a b c
