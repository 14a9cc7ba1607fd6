/**
 * WorkerPool against p-limit on the same work: N trivial jobs (sync and async variants) at the
 * same concurrency, every result collected. Run: `npx tsx bench/conc/pool.bench.ts`.
 * Each contender runs several rounds alternately (so neither gets a warmer JIT or a quieter
 * machine); the median round is reported. Target: WorkerPool no slower than p-limit.
 */
import pLimit from 'p-limit';
import { WorkerPool } from '../../src/conc/pool.js';

const N = Number(process.env.N ?? 100_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const QUEUE = Number(process.env.QUEUE ?? 1024);

type Job = (i: number) => number | Promise<number>;
const jobs: Record<string, Job> = {
  sync: (i) => i * 2,
  async: async (i) => i * 2,
};

async function runPool(job: Job): Promise<number> {
  const pool = new WorkerPool<number, number>((i) => job(i), { workers: CONCURRENCY, queueSize: QUEUE });
  let sum = 0;
  const consumer = (async () => {
    for await (const r of pool.results) if (r.ok) sum += r.value;
  })();
  for (let i = 0; i < N; i++) {
    if (!pool.trySubmit(i)) await pool.submit(i);
  }
  await pool.shutdown();
  await consumer;
  return sum;
}

async function runPoolAwaitEach(job: Job): Promise<number> {
  const pool = new WorkerPool<number, number>((i) => job(i), { workers: CONCURRENCY, queueSize: QUEUE });
  let sum = 0;
  const consumer = (async () => {
    for await (const r of pool.results) if (r.ok) sum += r.value;
  })();
  for (let i = 0; i < N; i++) await pool.submit(i);
  await pool.shutdown();
  await consumer;
  return sum;
}

async function runPLimit(job: Job): Promise<number> {
  const limit = pLimit(CONCURRENCY);
  const values = await Promise.all(Array.from({ length: N }, (_, i) => limit(() => job(i))));
  let sum = 0;
  for (const v of values) sum += v;
  return sum;
}

const contenders: Record<string, (job: Job) => Promise<number>> = {
  'p-limit': runPLimit,
  'WorkerPool (trySubmit fast path)': runPool,
  'WorkerPool (await submit)': runPoolAwaitEach,
};

const expected = N * (N - 1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `node ${process.version}: ${N} jobs, concurrency ${CONCURRENCY}, pool queue ${QUEUE}, median of ${ROUNDS} rounds`,
);
let worst = 0;
for (const [kind, job] of Object.entries(jobs)) {
  const times: Record<string, number[]> = {};
  for (const name of Object.keys(contenders)) times[name] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const t0 = performance.now();
      const sum = await run(job);
      const dt = performance.now() - t0;
      if (sum !== expected) throw new Error(`${name}: wrong sum ${sum}, want ${expected}`);
      times[name]!.push(dt);
    }
  }
  const base = median(times['p-limit']!);
  console.log(`\n${kind} jobs:`);
  for (const name of Object.keys(contenders)) {
    const m = median(times[name]!);
    const ratio = m / base;
    if (name !== 'p-limit') worst = Math.max(worst, ratio);
    console.log(
      `  ${name.padEnd(34)} ${m.toFixed(1).padStart(8)} ms  ${((N / m) * 1000).toFixed(0).padStart(9)} jobs/s  ${ratio.toFixed(2)}x p-limit`,
    );
  }
}
console.log(
  `\nworst WorkerPool/p-limit ratio: ${worst.toFixed(2)} (${worst <= 1 ? 'target met' : 'SLOWER than p-limit'})`,
);
