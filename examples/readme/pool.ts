import { sleep, WorkerPool } from '../../src/conc/index.js';

const pool = new WorkerPool(
  async (n: number, signal: AbortSignal) => {
    await sleep(10, signal);
    if (n === 3) throw new Error('bad input');
    return n * n;
  },
  { workers: 2, queueSize: 4 },
);

void (async () => {
  for (let n = 1; n <= 5; n++) await pool.submit(n); // waits while the queue is full
  await pool.shutdown(); // finish what is queued, then close `results`
})();

for await (const r of pool.results) {
  console.log(r.job, r.ok ? r.value : String(r.error)); // one result per job, in completion order
}
