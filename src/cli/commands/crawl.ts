import { Crawl } from '../../crawl/crawler.js';
import { type CrawlOptions, defaultName, resolveOptions } from '../../crawl/options.js';
import type { CrawlSummary } from '../../crawl/summary.js';
import { formatSummary } from '../../crawl/summary.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  type CrawlFlagValues,
  parseListenAddress,
  type RedisFlagValues,
  toCrawlOptions,
} from '../crawl-flags.js';
import { startProgress } from '../progress.js';
import { runRedisCrawl } from './worker.js';

/**
 * Runs one crawl from the CLI: resolves defaults that depend on the crawl's name (state file,
 * output file), wires SIGINT/SIGTERM to the two-level shutdown, shows progress and prints the
 * summary. Resolves with the process exit code.
 */
export async function runCrawl(
  seeds: string[],
  flags: CrawlFlagValues & Partial<RedisFlagValues>,
  extra: Partial<CrawlOptions> = {},
): Promise<number> {
  if (flags.redis) return runRedisCrawl(seeds, { leaseTtl: '30s', wait: '30s', ...flags }, 'crawl', extra);
  const opts = { ...toCrawlOptions(seeds, flags), ...extra };
  resolveOptions(opts); // refuse bad input before anything else happens
  const serveAt = flags.dashboard ?? flags.metrics;
  const listen =
    serveAt === undefined || serveAt === false
      ? null
      : parseListenAddress(flags.dashboard ? 'dashboard' : 'metrics', serveAt);
  const name = defaultName({ seeds: opts.seeds, sitemaps: opts.sitemaps ?? [], name: opts.name });
  // Every crawl has a state file unless --no-state (commander leaves `state` undefined when
  // neither --state nor --no-state is given).
  if (flags.state !== false && opts.state === undefined) opts.state = `.trawl/${name}.db`;
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
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log(`\ntrawl: ${sig}: finishing in-flight requests and flushing output (send again to abort now)`);
      crawl.stop();
    } else {
      crawl.abort();
      process.stderr.write(
        `trawl: ${sig} again: aborted; stored records are kept, the rest resumes next run\n`,
      );
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = flags.quiet ? null : startProgress(crawl, { json: flags.json });
  let summary: CrawlSummary;
  try {
    summary = await crawl.done;
  } finally {
    progress?.stop();
    await dashboard?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (flags.json)
    process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary, out: opts.out })}\n`);
  else if (!flags.quiet) process.stderr.write(`${formatSummary(summary)}\nresults: ${opts.out}\n`);
  return 0;
}
