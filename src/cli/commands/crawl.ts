import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Crawl } from '../../crawl/crawler.js';
import { type CrawlOptions, defaultName, resolveOptions, UsageError } from '../../crawl/options.js';
import type { CrawlSummary } from '../../crawl/summary.js';
import { formatSummary } from '../../crawl/summary.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  type CrawlFlagValues,
  parseListenAddress,
  type RedisFlagValues,
  toCrawlOptions,
} from '../crawl-flags.js';
import { endOfCrawl } from '../end-of-crawl.js';
import { EXIT } from '../exit-codes.js';
import { startProgress } from '../progress.js';
import { onShutdownSignals } from '../shutdown-signals.js';
import { runRedisCrawl } from './worker.js';

/** Where a crawl's state file goes unless --state or --no-state says otherwise. */
export const DEFAULT_STATE_DIR = '.trawl';

/**
 * Runs one crawl from the CLI: resolves defaults that depend on the crawl's name (state file,
 * output file), wires SIGINT/SIGTERM/SIGHUP to the two-level shutdown, shows progress and prints
 * the summary and how to go on. Resolves with the process exit status: 0, or 74 when a full disk
 * stopped the crawl (see exit-codes.ts; a second signal exits 130 at once).
 */
export async function runCrawl(
  seeds: string[],
  flags: CrawlFlagValues & Partial<RedisFlagValues>,
  extra: Partial<CrawlOptions> = {},
): Promise<number> {
  if (flags.redis) return runRedisCrawl(seeds, flags, 'crawl', extra);
  // A Redis-only flag without --redis would be silently ignored: refuse it.
  if (flags.leaseTtl !== undefined)
    throw new UsageError('--lease-ttl needs --redis (it is how long a Redis lease lasts)');
  const opts = { ...toCrawlOptions(seeds, flags), ...extra };
  resolveOptions(opts); // refuse bad input before anything else happens
  const serveAt = flags.dashboard ?? flags.metrics;
  const listen =
    serveAt === undefined || serveAt === false
      ? null
      : parseListenAddress(flags.dashboard ? 'dashboard' : 'metrics', serveAt);
  const name = defaultName({ seeds: opts.seeds, sitemaps: opts.sitemaps ?? [], name: opts.name });
  // Every crawl has a state file unless --no-state (commander leaves `state` undefined when
  // neither --state nor --no-state is given). An explicit --state must be in an existing
  // directory (resolveOptions checks it, as for --out); the default .trawl/ is trawl's own and
  // created here.
  if (flags.state !== false && opts.state === undefined) {
    opts.state = join(DEFAULT_STATE_DIR, `${name}.db`);
    mkdirSync(DEFAULT_STATE_DIR, { recursive: true });
  }
  opts.out ??= `${name}.jsonl`;
  const crawl = new Crawl(opts);
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const dashboard = listen ? await startDashboard({ ...listen, metrics: crawl.metrics }) : null;
  if (dashboard) {
    // Printed even with --quiet: with a token this is the only way to learn it.
    process.stderr.write(
      `trawl: dashboard at ${dashboard.url} (metrics at ${new URL('/metrics', dashboard.url).origin}/metrics)\n`,
    );
  }
  if (crawl.resumed)
    log(`trawl: resuming crawl "${crawl.name}" from ${opts.state} (use --fresh to start over)`);
  const removeSignals = onShutdownSignals({
    first(sig) {
      log(`\ntrawl: ${sig}: finishing in-flight requests and flushing output (send again to abort now)`);
      crawl.stop();
    },
    again(sig) {
      crawl.abort();
      // Only a state file can resume the rest (--no-state keeps the frontier in memory).
      const rest = opts.state === undefined ? '' : ', the rest resumes next run';
      process.stderr.write(`trawl: ${sig} again: aborted; stored records are kept${rest}\n`);
      process.exit(EXIT.aborted);
    },
  });
  const progress = flags.quiet ? null : startProgress(crawl, { json: flags.json });
  let summary: CrawlSummary;
  try {
    summary = await crawl.done;
  } finally {
    progress?.stop();
    await dashboard?.close();
    removeSignals();
  }
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary, out: opts.out })}\n`);
  else if (!flags.quiet) process.stderr.write(`${formatSummary(summary)}\nresults: ${opts.out}\n`);
  const end = endOfCrawl(summary);
  for (const line of end.errors) process.stderr.write(`${line}\n`);
  return end.code;
}
