import { distributedCrawl, joinCrawl } from '../../crawl/distributed-crawl.js';
import { type CrawlOptions, resolveOptions, UsageError } from '../../crawl/options.js';
import { connectRedis, redactUrl } from '../../crawl/redis/connect.js';
import { SHARED_OPTIONS } from '../../crawl/redis/crawl-spec.js';
import { exportRedis } from '../../crawl/redis/export.js';
import { storagePathProblem } from '../../crawl/storage-paths.js';
import { type CrawlSummary, formatSummary } from '../../crawl/summary.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  type CrawlFlagValues,
  DEFAULT_LEASE_TTL,
  DEFAULT_WAIT,
  parseListenAddress,
  type RedisFlagValues,
  toCrawlOptions,
} from '../crawl-flags.js';
import { endOfCrawl } from '../end-of-crawl.js';
import { EXIT } from '../exit-codes.js';
import { parseDuration } from '../parse-values.js';
import { startProgress } from '../progress.js';
import { onShutdownSignals } from '../shutdown-signals.js';

/**
 * `trawl crawl <url...> --redis URL` (mode 'crawl': creates or joins crawl NAME and adds its seeds,
 * through distributedCrawl) and `trawl worker --redis URL --name NAME` (mode 'worker': joins an
 * existing crawl, waiting up to --wait for it to be created, through joinCrawl). Refuses bad flags
 * before connecting; Redis unreachable is a RedisConnectError (exit 2). Wires the two-level
 * shutdown signals, progress and dashboard, prints the summary, and with --out exports every
 * record of the crawl (all processes') at the end over a new connection (the crawl's own closes
 * with it). Resolves with the exit code.
 */
export async function runRedisCrawl(
  seeds: string[],
  flags: CrawlFlagValues & RedisFlagValues,
  mode: 'crawl' | 'worker',
  extra: Partial<CrawlOptions> = {},
): Promise<number> {
  const url = flags.redis;
  if (!url) throw new UsageError('--redis URL is required');
  if (typeof flags.state === 'string')
    throw new UsageError('--state and --redis conflict: the state lives in Redis');
  if (flags.fresh || flags.retryFailed)
    throw new UsageError('--fresh and --retry-failed are not supported with --redis');
  if (mode === 'worker' && !flags.name)
    throw new UsageError('trawl worker needs --name NAME (the crawl to join)');
  if (mode === 'worker' && seeds.length > 0)
    throw new UsageError('trawl worker takes no URLs; use trawl crawl to add seeds');
  const leaseTtlMs = parseDuration('lease-ttl', flags.leaseTtl ?? DEFAULT_LEASE_TTL);
  if (leaseTtlMs < 100) throw new UsageError('--lease-ttl must be at least 100ms');
  const waitMs = parseDuration('wait', flags.wait ?? DEFAULT_WAIT);
  // Validate every flag, --out included, before touching Redis (a worker has no seeds: a placeholder).
  const {
    state: _state,
    out,
    fresh: _fresh,
    retryFailed: _retry,
    ...own
  } = {
    ...toCrawlOptions(mode === 'worker' ? ['http://placeholder.invalid/'] : seeds, flags),
    ...extra,
  };
  resolveOptions({ ...own, out });
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
    if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary, name })}\n`);
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
  return end.code;
}

/** `trawl export --redis URL --name NAME --out FILE`: writes every record of the crawl (works while it runs). */
export async function runRedisExport(flags: { redis: string; name?: string; out: string }): Promise<number> {
  const name = flags.name;
  if (!name) throw new UsageError('trawl export --redis needs --name NAME');
  const problem = storagePathProblem({ out: flags.out });
  if (problem !== null) throw new UsageError(problem);
  const { records, mark } = await withRedis(flags.redis, (client) => exportRedis(client, name, flags.out));
  process.stderr.write(`trawl: exported ${records} records of crawl "${name}" to ${mark.path}\n`);
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
