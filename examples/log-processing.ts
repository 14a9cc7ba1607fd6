/**
 * The seed's "Distributed Log Processing": a generator emits 20 log entries (one every 50 ms),
 * three processors share its channel (fan-out), and `merge` collects their outputs (fan-in).
 *
 * `generate`, `stage` and `merge` are the Go program's hand-written goroutines: each stage loop
 * closes its output once its input is closed and drained, so the final `for await` ends. Go picks
 * each level with `math/rand`; a seeded generator makes this output the same on every run. The
 * entries come 50 ms apart, so (in Go too) each is printed before the next is generated.
 * `Words` is Go's `len(entry.Message)`: the message's length in bytes, not its word count.
 *
 *   npx tsx examples/log-processing.ts
 */
import { type Channel, generate, merge, sleep, stage } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

interface LogEntry {
  timestamp: number;
  level: string;
  message: string;
}

interface ProcessedLog {
  entry: LogEntry;
  wordCount: number;
  priority: number;
}

/** A small seeded PRNG (mulberry32), standing in for Go's `rand.Intn`. */
function seededRandom(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

// Fan-Out source: the generator's loop runs as its own task, closing the channel at the end.
function logGenerator(count: number): Channel<LogEntry> {
  const levels = ['INFO', 'WARN', 'ERROR', 'DEBUG'];
  const randIntn = seededRandom(42);
  return generate(async function* () {
    for (let i = 0; i < count; i++) {
      yield {
        timestamp: clock.now(),
        level: levels[randIntn(levels.length)],
        message: `Log message ${i} with some content`,
      };
      await sleep(50, undefined, clock);
    }
  });
}

const PRIORITY: Record<string, number> = { ERROR: 3, WARN: 2, INFO: 1 };

// Processing stage
function processLogs(input: Channel<LogEntry>): Channel<ProcessedLog> {
  return stage(input, (entry) => ({
    entry,
    wordCount: Buffer.byteLength(entry.message),
    priority: PRIORITY[entry.level] ?? 0,
  }));
}

await run(async () => {
  // Generate logs
  const logs = logGenerator(20);

  // Fan-Out: three processors read the same channel; each entry goes to exactly one of them.
  const processor1 = processLogs(logs);
  const processor2 = processLogs(logs);
  const processor3 = processLogs(logs);

  // Fan-In: merge results
  const merged = merge(processor1, processor2, processor3);

  // Consume results
  for await (const processed of merged) {
    console.log(
      `[${processed.entry.level}] Priority: ${processed.priority}, Words: ${processed.wordCount} - ${processed.entry.message}`,
    );
  }
});
