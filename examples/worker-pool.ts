/**
 * The seed's introductory worker pool (written in Python there): 4 workers, 10 jobs, each job
 * printing "Processing <job>" and taking 1 s. Here it is a `WorkerPool`: `submit` queues a job
 * (waiting while the queue is full), `shutdown` lets the workers finish every queued job, and
 * each job's outcome arrives on `results` with the job itself, errors included.
 *
 * Jobs are taken in FIFO order and start at once when a worker is free, so the lines come in
 * job order (0–3 at once, then 4–7 a second later, then 8–9).
 *
 *   npx tsx examples/worker-pool.ts
 */
import { sleep, WorkerPool } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

await run(async () => {
  const pool = new WorkerPool<number, void>(
    async (job, signal) => {
      console.log(`Processing ${job}`);
      await sleep(1000, signal, clock); // simulate work
    },
    { workers: 4, queueSize: 10 },
  );

  // Add jobs, then stop accepting more; queued jobs still run.
  for (let job = 0; job < 10; job++) await pool.submit(job);
  const finished = pool.shutdown();

  // Every job yields exactly one result (an error travels with its job, never lost).
  let failed = 0;
  for await (const r of pool.results) if (!r.ok) failed++;
  await finished;
  console.log(`all jobs done (${failed} failed)`);
});
