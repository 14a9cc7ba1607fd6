import { sleep, withContext } from '../../src/conc/index.js';

// g, ctx := errgroup.WithContext(ctx); g.SetLimit(2)
const { group, signal } = withContext();
group.setLimit(2);
for (const id of [1, 2, 3]) {
  group.go(async (signal) => {
    await sleep(10 * id, signal); // task 3 is aborted when task 2 fails
    if (id === 2) throw new Error(`task ${id} failed`);
  });
}
try {
  await group.wait();
} catch (err) {
  console.log(String(err)); // Error: task 2 failed
}
console.log('signal aborted:', signal.aborted); // true
