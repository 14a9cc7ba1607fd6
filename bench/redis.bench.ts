// `npx tsx bench/redis.bench.ts [pages] [procs] [workers]`: one distributed crawl per process
// count (default 1,2,4) of the generated test site with 50 ms latency per page (network-bound:
// more processes should help), through a fresh redis-server. Each run: one `trawl crawl --redis`
// plus N−1 `trawl worker`, --rate inf, W fetch workers each. Prints pages/s (first request to last
// process exit is not used: pages / the slowest process's crawl duration) and Redis' CPU seconds
// (INFO cpu used_cpu_sys + used_cpu_user, after − before) and per 1000 pages.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/helpers/redis.js';

const pages = process.argv[2] ?? '4000';
const procCounts = (process.argv[3] ?? '1,2,4').split(',').map(Number);
const workers = process.argv[4] ?? '64';
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const cli = here('../src/cli/main.ts');

const server: ChildProcess = spawn(
  process.execPath,
  ['--import', 'tsx', here('./crawl/site-process.ts'), pages, '10', '2048', '50'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const url = await new Promise<string>((resolve) =>
  server.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())),
);
process.stdout.write(`site: ${url} (${pages} pages, 50 ms latency), ${workers} workers per process\n`);

function run(
  args: string[],
): Promise<{ code: number | null; summary: Record<string, unknown> | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d: Buffer) => (out += d));
    p.stderr!.on('data', (d: Buffer) => (err += d));
    p.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.includes('"event":"summary"'));
      resolve({ code, summary: line ? (JSON.parse(line) as Record<string, unknown>) : null, stderr: err });
    });
  });
}

async function cpu(c: ReturnType<Awaited<ReturnType<typeof startRedis>>['client']>): Promise<number> {
  const info = await c.info('cpu');
  const num = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return num('used_cpu_sys') + num('used_cpu_user');
}

const rows: string[] = [];
for (const n of procCounts) {
  const redis = await startRedis();
  const c = redis.client();
  const flags = [
    '--redis',
    redis.url,
    '--name',
    'bench',
    '--allow-private',
    '--quiet',
    '--json',
    '--rate',
    'inf',
  ];
  flags.push(
    '--workers',
    workers,
    '--max-connections',
    workers,
    '--host-concurrency',
    '10000',
    '--parsers',
    '0',
  );
  const before = await cpu(c);
  const results = await Promise.all([
    run(['crawl', url, ...flags]),
    ...Array.from({ length: n - 1 }, () => run(['worker', ...flags])),
  ]);
  const after = await cpu(c);
  for (const r of results) if (r.code !== 0) process.stderr.write(`exit ${r.code}: ${r.stderr}\n`);
  const stored = results.reduce((s, r) => s + Number(r.summary?.pages ?? 0), 0);
  const ms = Math.max(...results.map((r) => Number(r.summary?.durationMs ?? 0)));
  const records = await c.llen('trawl:{bench}:order');
  const mem = Number(/used_memory:(\d+)/.exec(await c.info('memory'))?.[1] ?? 0);
  const usage = async (k: string) => Number(await c.memory('USAGE', `trawl:{bench}:${k}`, 'SAMPLES', '0'));
  // A page's record (last), its place in the pass (order) and its version for recrawls (ver).
  const recBytes = (await usage('last')) + (await usage('order'));
  const verBytes = await usage('ver');
  const setBytes =
    Number(await c.memory('USAGE', 'trawl:{bench}:seen', 'SAMPLES', '0')) +
    Number(await c.memory('USAGE', 'trawl:{bench}:done', 'SAMPLES', '0'));
  const redisCpu = after - before;
  const row = `${n} proc  ${String(stored).padStart(6)} stored  ${String(records).padStart(6)} records  ${((stored * 1000) / ms).toFixed(0).padStart(6)} pages/s  ${(ms / 1000).toFixed(1).padStart(5)} s  redis CPU ${redisCpu.toFixed(2)} s (${((redisCpu * 1000 * 1000) / stored).toFixed(0)} ms/1k pages)  redis memory ${(mem / 2 ** 20).toFixed(1)} MB: records ${(recBytes / records).toFixed(0)} B/page, versions ${(verBytes / records).toFixed(0)} B/page, seen+done ${(setBytes / records).toFixed(0)} B/URL`;
  rows.push(row);
  process.stdout.write(`${row}\n`);
  await redis.stop();
}
server.kill('SIGTERM');
process.stdout.write(`\n${rows.join('\n')}\n`);
