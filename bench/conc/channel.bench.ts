/**
 * Channel / select throughput and memory benchmark for `trawl/conc`.
 *
 *   npx tsx bench/conc/channel.bench.ts                        # throughput only
 *   node --expose-gc --import tsx bench/conc/channel.bench.ts   # plus the heap check
 *
 * Prints one table. Each figure is the best of 5 runs after a warm-up run (the machine may be
 * shared; best-of is the least noisy estimate of what the code can do). `BENCH_N` overrides the
 * message count (default 1e6).
 */

import { Channel } from '../../src/conc/channel.js';
import { recvCase, select, trySelect } from '../../src/conc/select.js';

const N = Number(process.env.BENCH_N ?? 1_000_000);
const RUNS = 5;

interface Row {
  name: string;
  ops: number;
  unit: string;
  note?: string;
}

async function best(fn: () => Promise<number>): Promise<number> {
  return (await bestOf([fn]))[0]!;
}

/**
 * Best rate of each function, running them in alternation (a, b, a, b, ...) so that a change
 * in machine load hits all of them alike — the ratios against the bare loop stay meaningful.
 */
async function bestOf(fns: (() => Promise<number>)[]): Promise<number[]> {
  for (const fn of fns) await fn(); // warm-up: let the JIT settle
  const top = fns.map(() => 0);
  for (let r = 0; r < RUNS; r++) {
    for (const [i, fn] of fns.entries()) {
      const t0 = performance.now();
      const ops = await fn();
      const secs = (performance.now() - t0) / 1000;
      top[i] = Math.max(top[i]!, ops / secs);
    }
  }
  return top;
}

/** The baseline: one `await` of a plain value per message. */
async function bareLoop(): Promise<number> {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += await i;
  if (sum < 0) throw new Error('unreachable');
  return N;
}

const RESOLVED = Promise.resolve();

/**
 * The ceiling for any channel with a promise API: the same two loops with no channel at all —
 * the producer awaits a resolved promise, the consumer awaits a fresh `{ value, ok }` promise.
 * Two awaits per message is why "await send / await recv" cannot pass ~0.55× the bare loop.
 */
async function ceiling(): Promise<number> {
  let sum = 0;
  const producer = (async () => {
    for (let i = 0; i < N; i++) await RESOLVED;
  })();
  const consumer = (async () => {
    for (let i = 0; i < N; i++) sum += (await Promise.resolve({ value: i, ok: true })).value;
  })();
  await Promise.all([producer, consumer]);
  if (sum !== (N * (N - 1)) / 2) throw new Error('unreachable');
  return N;
}

/** One producer `await ch.send(i)`, one consumer `await ch.recv()`, capacity 1024. */
async function bufferedSendRecv(): Promise<number> {
  const ch = new Channel<number>(1024);
  let sum = 0;
  const producer = (async () => {
    for (let i = 0; i < N; i++) await ch.send(i);
    ch.close();
  })();
  const consumer = (async () => {
    for (;;) {
      const r = await ch.recv();
      if (!r.ok) break;
      sum += r.value!;
    }
  })();
  await Promise.all([producer, consumer]);
  if (sum !== (N * (N - 1)) / 2) throw new Error(`lost values: ${sum}`);
  return N;
}

/** Same, consumer written as `for await (const v of ch)`. */
async function bufferedForAwait(): Promise<number> {
  const ch = new Channel<number>(1024);
  let sum = 0;
  const producer = (async () => {
    for (let i = 0; i < N; i++) await ch.send(i);
    ch.close();
  })();
  const consumer = (async () => {
    for await (const v of ch) sum += v;
  })();
  await Promise.all([producer, consumer]);
  if (sum !== (N * (N - 1)) / 2) throw new Error(`lost values: ${sum}`);
  return N;
}

/** Same, both sides taking the synchronous fast path first (`trySend` / `tryRecv`). */
async function bufferedTryFirst(): Promise<number> {
  const ch = new Channel<number>(1024);
  let sum = 0;
  const producer = (async () => {
    for (let i = 0; i < N; i++) if (!ch.trySend(i)) await ch.send(i);
    ch.close();
  })();
  const consumer = (async () => {
    for (;;) {
      const r = ch.tryRecv() ?? (await ch.recv());
      if (!r.ok) break;
      sum += r.value!;
    }
  })();
  await Promise.all([producer, consumer]);
  if (sum !== (N * (N - 1)) / 2) throw new Error(`lost values: ${sum}`);
  return N;
}

/** Unbuffered ping-pong: one round trip = two rendezvous. */
async function pingPong(): Promise<number> {
  const n = Math.floor(N / 4);
  const ping = new Channel<number>();
  const pong = new Channel<number>();
  const a = (async () => {
    for (let i = 0; i < n; i++) {
      await ping.send(i);
      const r = await pong.recv();
      if (r.value !== i) throw new Error('out of order');
    }
    ping.close();
  })();
  const b = (async () => {
    for (;;) {
      const r = await ping.recv();
      if (!r.ok) break;
      await pong.send(r.value!);
    }
  })();
  await Promise.all([a, b]);
  return n;
}

/** `await select` over 4 always-ready receive cases (the chosen channel is refilled). */
async function select4(): Promise<number> {
  const chs = [0, 1, 2, 3].map(() => new Channel<number>(1));
  for (const ch of chs) ch.trySend(1);
  const cases = chs.map((ch) => recvCase(ch));
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const r = await select(cases);
    sum += r.value as number;
    chs[r.index]!.trySend(1);
  }
  if (sum !== N) throw new Error('lost values');
  return N;
}

/** `trySelect` (select with default) over 4 ready receive cases, no await. */
async function trySelect4(): Promise<number> {
  const chs = [0, 1, 2, 3].map(() => new Channel<number>(1));
  for (const ch of chs) ch.trySend(1);
  const cases = chs.map((ch) => recvCase(ch));
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const r = trySelect(cases)!;
    sum += r.value as number;
    chs[r.index]!.trySend(1);
  }
  if (sum !== N) throw new Error('lost values');
  return N;
}

/** Heap growth after pushing 1M values through a channel (needs --expose-gc). */
async function heapCheck(): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return 'skipped: run with node --expose-gc --import tsx';
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
  };
  await settle();
  const before = process.memoryUsage().heapUsed;
  const ch = new Channel<{ i: number }>(1024);
  const producer = (async () => {
    for (let i = 0; i < 1_000_000; i++) await ch.send({ i });
    ch.close();
  })();
  let count = 0;
  for await (const _ of ch) count++;
  await producer;
  await settle();
  const after = process.memoryUsage().heapUsed;
  const mb = (after - before) / 2 ** 20;
  return `${count} objects through cap-1024 channel: heap ${mb >= 0 ? '+' : ''}${mb.toFixed(2)} MB (${Math.abs(mb) <= 5 ? 'within' : 'OUTSIDE'} ±5 MB)`;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`;
}

async function main(): Promise<void> {
  const [bare, ceil, buffered, forAwait, tryFirst] = await bestOf([
    bareLoop,
    ceiling,
    bufferedSendRecv,
    bufferedForAwait,
    bufferedTryFirst,
  ]);
  const ratio = (x: number) => `${(x / bare!).toFixed(2)}× bare`;
  const rows: Row[] = [
    { name: 'bare `for (...) await i` loop', ops: bare!, unit: 'iter/s' },
    { name: 'ceiling: 2 awaits/msg, no channel', ops: ceil!, unit: 'msg/s', note: ratio(ceil!) },
    { name: 'cap 1024: await send / await recv', ops: buffered!, unit: 'msg/s', note: ratio(buffered!) },
    { name: 'cap 1024: await send / for await', ops: forAwait!, unit: 'msg/s', note: ratio(forAwait!) },
    {
      name: 'cap 1024: trySend/tryRecv, await on block',
      ops: tryFirst!,
      unit: 'msg/s',
      note: ratio(tryFirst!),
    },
  ];
  rows.push({ name: 'unbuffered ping-pong', ops: await best(pingPong), unit: 'round trips/s' });
  rows.push({ name: 'await select, 4 ready channels', ops: await best(select4), unit: 'selects/s' });
  rows.push({ name: 'trySelect, 4 ready channels', ops: await best(trySelect4), unit: 'selects/s' });

  const w = Math.max(...rows.map((r) => r.name.length));
  console.log(`trawl/conc channel bench — node ${process.version}, N=${N}, best of ${RUNS}\n`);
  console.log(`${'case'.padEnd(w)}  ${'rate'.padStart(9)}  unit`);
  for (const r of rows) {
    console.log(`${r.name.padEnd(w)}  ${fmt(r.ops).padStart(9)}  ${r.unit}${r.note ? `  (${r.note})` : ''}`);
  }
  console.log(`\nmemory: ${await heapCheck()}`);
}

await main();
