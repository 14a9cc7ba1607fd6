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
import { reserveStdout } from '../reserve-stdout.js';
import { onShutdownSignals } from '../shutdown-signals.js';
import { runRedisCrawl } from './worker.js';

/** Where a crawl's state file goes unless --state or --no-state says otherwise. */
export const DEFAULT_STATE_DIR = '.trawl';

/** The flags of a crawl command that {@link runCrawlWith} reads besides the crawl options. */
export type CrawlRunFlags = Pick<
  CrawlFlagValues,
  'state' | 'quiet' | 'json' | 'dashboard' | 'metrics' | 'name'
> &
  Partial<RedisFlagValues>;

/**
 * Runs one crawl from the CLI with options turned from its flags (see toCrawlOptions) and
 * `extra` laid over them; see {@link runCrawlWith}.
 */
export async function runCrawl(
  seeds: string[],
  flags: CrawlFlagValues & Partial<RedisFlagValues>,
  extra: Partial<CrawlOptions> = {},
): Promise<number> {
  return runCrawlWith({ ...toCrawlOptions(seeds, flags), ...extra }, flags);
}

/**
 * Runs one crawl from the CLI with its options already decided (`trawl crawl`, `trawl run`,
 * `trawl demo`): with --redis hands over to runRedisCrawl; otherwise resolves the defaults that
 * depend on the crawl's name (state file `.trawl/<name>.db`, records `<name>.jsonl`, and with a
 * scraper its items `<name>.items.jsonl`), wires SIGINT/SIGTERM/SIGHUP to the two-level shutdown,
 * shows progress and prints the summary and where the output went. Records (`out: '-'`) or items
 * (`items: '-'`) may go to stdout, not both (a UsageError); stdout then holds them alone: every
 * other line, the --json summary and handlers' console.log included, goes to stderr (see
 * reserveStdout). Resolves with the process exit
 * status: 0, or 74 when a full disk stopped the crawl (see exit-codes.ts; a second signal exits
 * 130 at once).
 */
export async function runCrawlWith(
  opts: Partial<CrawlOptions> & { seeds: string[] },
  flags: CrawlRunFlags,
): Promise<number> {
  if (opts.out === '-' && opts.items === '-')
    throw new UsageError('--out - and --items - both want stdout: send one of them to a file');
  if (flags.redis) return runRedisCrawl(opts, { ...flags, redis: flags.redis }, 'crawl');
  // A Redis-only flag without --redis would be silently ignored: refuse it.
  if (flags.leaseTtl !== undefined)
    throw new UsageError('--lease-ttl needs --redis (it is how long a Redis lease lasts)');
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
  if (opts.scraper !== undefined) opts.items ??= `${name}.items.jsonl`;
  // With records or items on stdout, stdout is theirs alone (console.log in handlers included).
  const toStdout = opts.out === '-' || opts.items === '-';
  if (toStdout) reserveStdout();
  const report = toStdout ? process.stderr : process.stdout;
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
  // `items` in the summary is the count of items; their file is `itemsOut`.
  const itemsOut = opts.items === undefined ? {} : { itemsOut: opts.items };
  if (flags.json)
    report.write(`${JSON.stringify({ event: 'summary', ...summary, out: opts.out, ...itemsOut })}\n`);
  else if (!flags.quiet) {
    const itemsLine = opts.items === undefined ? '' : `items: ${shownPath(opts.items)}\n`;
    process.stderr.write(`${formatSummary(summary)}\nresults: ${shownPath(opts.out)}\n${itemsLine}`);
  }
  const end = endOfCrawl(summary);
  for (const line of end.errors) process.stderr.write(`${line}\n`);
  return end.code;
}

/** An output path as the end-of-crawl lines show it: `-` is stdout. */
function shownPath(path: string): string {
  return path === '-' ? '- (stdout)' : path;
}
