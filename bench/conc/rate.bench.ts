// Benchmarks for trawl/conc's rate.Limiter: allow() throughput (it must not allocate) and the
// long-run accuracy of wait() on the real clock. Run: npx tsx bench/conc/rate.bench.ts
import { PerformanceObserver } from 'node:perf_hooks';
import { systemClock } from '../../src/conc/clock.js';
import { every, Inf, newLimiter } from '../../src/conc/rate.js';

function opsPerSec(label: string, fn: () => unknown, ms = 1000): [string, string] {
  // Warm up so the JIT has compiled the path being measured.
  for (let i = 0; i < 200_000; i++) fn();
  let calls = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 100_000; i++) fn();
    calls += 100_000;
    now = performance.now();
  }
  return [label, `${(((calls / (now - start)) * 1000) / 1e6).toFixed(2)} M/s`];
}

// Counts garbage collections during `calls` calls: zero means the path does not allocate.
async function gcsDuring(fn: () => unknown, calls = 20_000_000): Promise<string> {
  for (let i = 0; i < 200_000; i++) fn();
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  await new Promise((r) => setImmediate(r));
  for (let i = 0; i < calls; i++) fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return `${gcs} GCs in ${calls / 1e6}M calls`;
}

const rows: [string, string][] = [];
const denied = newLimiter(every(1000), 1); // Go's BenchmarkAllowN: mostly denied
rows.push(opsPerSec('allow(), 1/s burst 1 (denied)', () => denied.allow()));
const granted = newLimiter(1e12, 1_000_000); // always granted
rows.push(opsPerSec('allow(), 1e12/s (granted)', () => granted.allow()));
const inf = newLimiter(Inf, 0);
rows.push(opsPerSec('allow(), Inf', () => inf.allow()));
const fixed = newLimiter(every(1000), 1);
const t = systemClock.now();
rows.push(opsPerSec('allowN(fixed t, 1) (denied)', () => fixed.allowN(t, 1)));
// The limiter itself allocates nothing; reading the system clock does (performance.now()
// returns a boxed double), so the two are measured apart.
const explicit = newLimiter(1, 1);
const times = Float64Array.from({ length: 1024 }, (_, i) => t + i * 1e-3);
let ti = 0;
rows.push([
  'allowN(t, 1) explicit times: garbage',
  await gcsDuring(() => explicit.allowN(times[ti++ & 1023], 1)),
]);
rows.push(['systemClock.now() alone: garbage', await gcsDuring(() => systemClock.now())]);
rows.push(['allow() (denied): garbage', await gcsDuring(() => denied.allow())]);

async function waitRate(
  rate: number,
  burst: number,
  loops: number,
  seconds: number,
): Promise<[string, string]> {
  const lim = newLimiter(rate, burst);
  // Drain the initial burst so only the refill rate counts.
  lim.allowN(systemClock.now(), burst);
  let events = 0;
  const cpu0 = process.cpuUsage();
  const start = systemClock.now();
  const end = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: loops }, async () => {
      while (systemClock.now() < end) {
        await lim.wait();
        events++;
      }
    }),
  );
  const elapsed = (systemClock.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuPct = ((cpu.user + cpu.system) / 1e6 / elapsed) * 100;
  const achieved = events / elapsed;
  const err = ((achieved - rate) / rate) * 100;
  return [
    `wait() ${rate}/s burst ${burst}, ${loops} waiter(s), ${seconds}s`,
    `${achieved.toFixed(1)}/s (${err >= 0 ? '+' : ''}${err.toFixed(2)}%), CPU ${cpuPct.toFixed(0)}% of a core`,
  ];
}

rows.push(await waitRate(1000, 1, 1, 5));
rows.push(await waitRate(1000, 2, 1, 5));
rows.push(await waitRate(1000, 1, 4, 5));
rows.push(await waitRate(1000, 10, 1, 5));
rows.push(await waitRate(100, 1, 1, 5));
rows.push(await waitRate(10, 5, 1, 5));

const w = Math.max(...rows.map((r) => r[0].length));
console.log(`${'benchmark'.padEnd(w)}  result`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
