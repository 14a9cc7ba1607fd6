import type { Command } from 'commander';
import { distributedCrawl, joinCrawl } from '../../crawl/distributed-crawl.js';
import { type CrawlOptions, resolveOptions, UsageError } from '../../crawl/options.js';
import { connectRedis, redactUrl } from '../../crawl/redis/connect.js';
import { SHARED_OPTIONS } from '../../crawl/redis/crawl-spec.js';
import { exportRedis, exportRedisCdxj, exportRedisItems } from '../../crawl/redis/export.js';
import { storagePathProblem } from '../../crawl/storage-paths.js';
import { type CrawlSummary, formatSummary } from '../../crawl/summary.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  type CrawlFlagValues,
  DEFAULT_LEASE_TTL,
  DEFAULT_WAIT,
  layerScraperOptions,
  parseListenAddress,
  type RedisFlagValues,
  toCrawlOptions,
  typedFlags,
} from '../crawl-flags.js';
import { endOfCrawl } from '../end-of-crawl.js';
import { EXIT } from '../exit-codes.js';
import { parseDuration } from '../parse-values.js';
import { startProgress } from '../progress.js';
import { reserveStdout } from '../reserve-stdout.js';
import { onShutdownSignals } from '../shutdown-signals.js';

/** The flags of `trawl worker`: every crawl flag, the Redis flags, and `--scraper`. */
export type WorkerFlagValues = CrawlFlagValues & RedisFlagValues & { scraper?: string };

/**
 * `trawl worker --redis URL --name NAME [--scraper FILE]`: joins crawl NAME (see runRedisCrawl,
 * mode 'worker'). With --scraper the module is loaded first, as `trawl run` loads it (a bad
 * module is a ScraperError, exit 2, before connecting), its handlers run on this process's pages
 * and its `options` sit between the flags the user typed and trawl's defaults (its `start` is
 * not used: a worker adds no seeds; the crawl's shared options stay its creator's). Resolves with
 * the exit status.
 */
export async function runWorker(flags: WorkerFlagValues, cmd: Command): Promise<number> {
  const cli = { ...toCrawlOptions([], flags), seeds: [] };
  if (flags.scraper === undefined) return runRedisCrawl(cli, flags, 'worker');
  const { loadScraper } = await import('../../crawl/parse/load-scraper.js');
  const scraper = await loadScraper(flags.scraper);
  const opts = layerScraperOptions(cli, scraper.options, typedFlags(cmd));
  opts.scraper = scraper.file;
  return runRedisCrawl(opts, flags, 'worker');
}

/** The flags runRedisCrawl reads besides the crawl options. */
export type RedisRunFlags = Pick<
  CrawlFlagValues,
  'state' | 'quiet' | 'json' | 'dashboard' | 'metrics' | 'name'
> &
  RedisFlagValues;

/**
 * `trawl crawl <url...> --redis URL` and `trawl run FILE --redis URL` (mode 'crawl': creates or
 * joins crawl NAME and adds its seeds, through distributedCrawl) and `trawl worker --redis URL
 * --name NAME [--scraper FILE]` (mode 'worker': joins an existing crawl, waiting up to --wait for
 * it to be created, through joinCrawl; `options.seeds` must be empty). `options` are the crawl
 * options already decided from the flags (and a scraper's options; with `scraper` set, its
 * handlers run in this process). Refuses bad flags before connecting: a state file, --fresh or
 * --retry-failed (the state lives in Redis); Redis unreachable is a RedisConnectError (exit 2).
 * Wires the two-level shutdown signals, progress and dashboard, prints the summary, and with
 * --out exports every record of the crawl (all processes') at the end over a new connection
 * (the crawl's own closes with it), and with `items` (`trawl run --redis --items FILE`) every
 * item the same way; with `-` for either they go to stdout and the --json summary to stderr.
 * Resolves with the exit code.
 */
export async function runRedisCrawl(
  options: Partial<CrawlOptions> & { seeds: string[] },
  flags: RedisRunFlags,
  mode: 'crawl' | 'worker',
): Promise<number> {
  const url = flags.redis;
  if (!url) throw new UsageError('--redis URL is required');
  if (typeof flags.state === 'string' || options.state !== undefined)
    throw new UsageError('--state and --redis conflict: the state lives in Redis');
  if (options.fresh || options.retryFailed)
    throw new UsageError('--fresh and --retry-failed are not supported with --redis');
  if (mode === 'worker' && !flags.name)
    throw new UsageError('trawl worker needs --name NAME (the crawl to join)');
  if (mode === 'worker' && options.seeds.length > 0)
    throw new UsageError('trawl worker takes no URLs; use trawl crawl to add seeds');
  const leaseTtlMs = parseDuration('lease-ttl', flags.leaseTtl ?? DEFAULT_LEASE_TTL);
  if (leaseTtlMs < 100) throw new UsageError('--lease-ttl must be at least 100ms');
  const waitMs = parseDuration('wait', flags.wait ?? DEFAULT_WAIT);
  // Validate every flag, --out included, before touching Redis (a worker has no seeds: a placeholder).
  // Records and items live in Redis; --out and --items are where they are exported at the end.
  const { state: _state, out, items, fresh: _fresh, retryFailed: _retry, ...own } = options;
  if (mode === 'worker' && (own.recrawl || own.recrawlAfter !== undefined || own.changedOnly))
    throw new UsageError(
      'trawl worker takes no --recrawl options: it joins the pass the crawl is in (start one with trawl crawl --recrawl)',
    );
  resolveOptions({
    ...own,
    seeds: mode === 'worker' ? ['http://placeholder.invalid/'] : own.seeds,
    out,
    items,
    // The crawl's pages and their versions are in Redis: a recrawl needs no state file.
    keepVersions: true,
  });
  const toStdout = out === '-' || items === '-';
  if (toStdout) reserveStdout();
  const report = toStdout ? process.stderr : process.stdout;
  const serveAt = flags.dashboard ?? flags.metrics;
  const listen =
    serveAt === undefined || serveAt === false
      ? null
      : parseListenAddress(flags.dashboard ? 'dashboard' : 'metrics', serveAt);
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };
  const onRedisStatus = (s: 'lost' | 'reconnected') =>
    process.stderr.write(
      s === 'lost' ? 'trawl: lost the Redis connection; retrying\n' : 'trawl: Redis connection restored\n',
    );

  let crawl: Awaited<ReturnType<typeof joinCrawl>>;
  if (mode === 'crawl') {
    crawl = await distributedCrawl({ ...own, redis: url, leaseTtlMs, onRedisStatus });
  } else {
    const name = flags.name!;
    const where = redactUrl(url);
    const workerOwn: Record<string, unknown> = { ...own };
    // The crawl's shared options are its creator's; a worker's flags for them are ignored.
    for (const k of [...SHARED_OPTIONS, 'name']) delete workerOwn[k];
    crawl = await joinCrawl({
      ...workerOwn,
      name,
      redis: url,
      leaseTtlMs,
      waitMs,
      onRedisStatus,
      onWaiting: () =>
        log(
          `trawl: waiting up to ${flags.wait ?? DEFAULT_WAIT} for crawl "${name}" to be created at ${where}`,
        ),
    });
    log(`trawl: joined crawl "${name}" at ${where}`);
  }
  const name = crawl.name;
  const dashboard = listen ? await startDashboard({ ...listen, metrics: crawl.metrics }) : null;
  if (dashboard) process.stderr.write(`trawl: dashboard at ${dashboard.url}\n`);
  const removeSignals = onShutdownSignals({
    first(sig) {
      log(
        `\ntrawl: ${sig}: finishing in-flight requests (send again to abort now; leases return to the crawl)`,
      );
      crawl.stop();
    },
    again(sig) {
      crawl.abort();
      process.stderr.write(`trawl: ${sig} again: aborted; stored records are kept in Redis\n`);
      process.exit(EXIT.aborted);
    },
  });
  const progress = flags.quiet ? null : startProgress(crawl, { json: flags.json });
  let summary: CrawlSummary;
  try {
    summary = await crawl.done;
    if (flags.json) report.write(`${JSON.stringify({ event: 'summary', ...summary, name })}\n`);
    else log(formatSummary(summary));
  } finally {
    progress?.stop();
    await dashboard?.close();
    removeSignals();
  }
  const end = endOfCrawl(summary);
  for (const line of end.errors) process.stderr.write(`${line}\n`);
  if (out) {
    const { records, mark } = await withRedis(url, (client) => exportRedis(client, name, out));
    log(`trawl: exported ${records} records of crawl "${name}" to ${mark.path}`);
  } else {
    log(
      `trawl: records are in Redis; write them with: trawl export --redis ${redactUrl(url)} --name ${name} --out FILE`,
    );
  }
  if (items) {
    const exported = await withRedis(url, (client) => exportRedisItems(client, name, items));
    log(`trawl: exported ${exported.items} items of crawl "${name}" to ${exported.mark.path}`);
  }
  return end.code;
}

/**
 * `trawl export --redis URL --name NAME [--out FILE] [--items FILE]`: writes every record and/or
 * every item of the crawl (works while it runs). Both paths are checked before Redis is asked.
 */
export async function runRedisExport(flags: {
  redis: string;
  name?: string;
  out?: string;
  items?: string;
}): Promise<number> {
  const name = flags.name;
  if (!name) throw new UsageError('trawl export --redis needs --name NAME');
  const problem = storagePathProblem({ out: flags.out, items: flags.items });
  if (problem !== null) throw new UsageError(problem);
  const { out, items } = flags;
  // One connection for both exports.
  await withRedis(flags.redis, async (client) => {
    if (out?.endsWith('.cdxj')) {
      const { lines, files } = await exportRedisCdxj(client, name, out);
      if (files.length === 0)
        throw new UsageError(`crawl "${name}" has no WARC files (crawl with --warc or --warc-dir)`);
      const count = (s: string) => files.filter((f) => f.state === s).length;
      const repaired = count('repaired');
      const missing = count('missing');
      const live = count('live');
      process.stderr.write(
        `trawl: indexed ${files.length - missing} WARC files of crawl "${name}" in ${out} (${lines} captures` +
          (repaired > 0 ? `; ${repaired} cut back to their committed records` : '') +
          (live > 0 ? `; ${live} still being written, indexed up to their committed mark` : '') +
          (missing > 0 ? `; ${missing} on other machines, left out` : '') +
          ')\n',
      );
    } else if (out !== undefined) {
      const { records, mark } = await exportRedis(client, name, out);
      process.stderr.write(`trawl: exported ${records} records of crawl "${name}" to ${mark.path}\n`);
    }
    if (items !== undefined) {
      const done = await exportRedisItems(client, name, items);
      process.stderr.write(`trawl: exported ${done.items} items of crawl "${name}" to ${done.mark.path}\n`);
    }
  });
  return 0;
}

/** Runs `op` on a new connection to `url`, closing it after (quit when connected, else drop). */
async function withRedis<T>(
  url: string,
  op: (client: Awaited<ReturnType<typeof connectRedis>>) => Promise<T>,
): Promise<T> {
  const client = await connectRedis(url);
  try {
    return await op(client);
  } finally {
    if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
    else client.disconnect();
  }
}
