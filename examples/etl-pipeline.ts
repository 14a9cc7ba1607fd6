/**
 * The seed's "ETL Data Pipeline": extract → transform → enrich → load, each stage its own loop
 * connected by unbuffered channels. A `Pipeline` runs the stages under one context: the first
 * error in any stage would stop them all and be what `wait()` rejects with.
 *
 * Go prints `ProcessedAt` as `time.Now()` in RFC 3339; so does this (on the simulated clock
 * under TRAWL_EXAMPLE_FAST=1, which makes the timestamps the same on every run).
 *
 *   npx tsx examples/etl-pipeline.ts
 */
import { type Channel, type Pipeline, pipeline, sleep } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

interface RawData {
  id: number;
  content: string;
  timestamp: number;
}

interface CleanedData {
  id: number;
  content: string;
  words: number;
}

interface EnrichedData extends CleanedData {
  category: string;
  processedAt: number;
}

/** Go's time.Time JSON form (RFC 3339 with only the fractional digits needed), in UTC. */
function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

// Extract stage: read raw data
function extract(p: Pipeline, count: number): Channel<RawData> {
  return p.generate(async function* () {
    for (let i = 1; i <= count; i++) {
      yield { id: i, content: `  Raw DATA ${i} with EXTRA spaces  `, timestamp: clock.now() };
      await sleep(100, p.signal, clock);
    }
  });
}

// Transform stage: clean and normalize data
function transform(p: Pipeline, input: Channel<RawData>): Channel<CleanedData> {
  return p.stage(input, (data) => {
    const cleaned = data.content.trim().toLowerCase();
    return { id: data.id, content: cleaned, words: cleaned.split(/\s+/).filter(Boolean).length };
  });
}

// Enrich stage: add metadata and categorize
function enrich(p: Pipeline, input: Channel<CleanedData>): Channel<EnrichedData> {
  return p.stage(input, (data) => ({
    ...data,
    category: data.words > 5 ? 'long' : 'short',
    processedAt: clock.now(),
  }));
}

// Load stage: store enriched data
async function load(input: Channel<EnrichedData>): Promise<void> {
  for await (const data of input) {
    const json = {
      ID: data.id,
      Content: data.content,
      Words: data.words,
      Category: data.category,
      ProcessedAt: rfc3339(data.processedAt),
    };
    console.log(`Loaded to database:\n${JSON.stringify(json, null, 2)}\n`);
  }
}

await run(async () => {
  console.log('Starting ETL Pipeline...\n');

  // Build ETL pipeline
  const p = pipeline();
  const rawData = extract(p, 5);
  const cleanedData = transform(p, rawData);
  const enrichedData = enrich(p, cleanedData);
  await load(enrichedData);
  await p.wait(); // every stage has exited; rejects with the first stage error, if any

  console.log('Pipeline completed!');
});
