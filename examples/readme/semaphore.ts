import { Weighted } from '../../src/conc/index.js';

const sem = new Weighted(10); // semaphore.NewWeighted(10)
await sem.acquire(8);
console.log(sem.tryAcquire(3)); // false: only 2 free

const big = sem.acquire(5).then(() => console.log('acquired 5'));
console.log(sem.tryAcquire(1)); // false: someone is waiting (strict FIFO, no barging)
sem.release(8); // wakes the waiter: acquired 5
await big;
sem.release(5);
console.log(sem.tryAcquire(10)); // true
