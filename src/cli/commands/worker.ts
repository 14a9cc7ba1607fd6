import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import { Crawl } from '../../crawl/crawler.js';
import type { FrontierItem } from '../../crawl/frontier/frontier.js';
import { type CrawlOptions, defaultName, resolveOptions, UsageError } from '../../crawl/options.js';
import { connectRedis, redactUrl } from '../../crawl/redis/connect.js';
import { type CrawlSpec, loadSpec, publishSpec, specOf } from '../../crawl/redis/crawl-spec.js';
import { exportRedis } from '../../crawl/redis/export.js';
import { RedisFrontier } from '../../crawl/redis/redis-frontier.js';
import { RedisRateGate } from '../../crawl/redis/redis-rate-gate.js';
import { formatSummary } from '../../crawl/summary.js';
import { hostKey, normalizeUrl } from '../../crawl/url/normalize.js';
import { startDashboard } from '../../dashboard/server.js';
import {
  type CrawlFlagValues,
  parseListenAddress,
  type RedisFlagValues,
  toCrawlOptions,
} from '../crawl-flags.js';
import { parseDuration } from '../parse-values.js';
import { startProgress } from '../progress.js';

/**
 * The per-host budget of a distributed crawl: `--host-rate`, but never above the global `--rate`
 * (by default a host gets the whole global budget), with `--host-burst` when the host rate is the
 * binding one and the global `--burst` otherwise.
 */
export function hostBudget(spec: Pick<CrawlSpec, 'rate' | 'burst' | 'hostRate' | 'hostBurst'>): {
  rate: number;
  burst: number;
} {
  return spec.hostRate <= spec.rate
    ? { rate: spec.hostRate, burst: spec.hostBurst }
    : { rate: spec.rate, burst: Math.min(spec.burst, spec.hostBurst) };
}

/**
 * `trawl crawl <url...> --redis URL` (mode 'crawl': creates or joins crawl NAME and adds its seeds)
 * and `trawl worker --redis URL --name NAME` (mode 'worker': joins an existing crawl, waiting up to
 * --wait for it to be created). Connects first (Redis unreachable: RedisConnectError, exit 2),
 * adopts the crawl's shared options (scope, depth, politeness budget: see crawl-spec.ts), runs the
 * engine on the Redis frontier and rate gate until the crawl is finished crawl-wide, and with
 * --out exports every record of the crawl at the end. Resolves with the exit code.
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
  const leaseTtlMs = parseDuration('lease-ttl', flags.leaseTtl);
  if (leaseTtlMs < 100) throw new UsageError('--lease-ttl must be at least 100ms');
  const waitMs = parseDuration('wait', flags.wait);
  // Validate every flag before touching Redis (a worker has no seeds yet: check with a placeholder).
  const own = {
    ...toCrawlOptions(mode === 'worker' ? ['http://placeholder.invalid/'] : seeds, flags),
    ...extra,
  };
  const resolved = resolveOptions({ ...own, state: undefined, out: flags.out });
  const name =
    mode === 'worker' ? flags.name! : defaultName({ seeds, sitemaps: own.sitemaps ?? [], name: own.name });
  const serveAt = flags.dashboard ?? flags.metrics;
  const listen =
    serveAt === undefined || serveAt === false
      ? null
      : parseListenAddress(flags.dashboard ? 'dashboard' : 'metrics', serveAt);
  const log = (line: string) => {
    if (!flags.quiet) process.stderr.write(`${line}\n`);
  };

  const client = await connectRedis(url, {
    onStatus: (s) =>
      process.stderr.write(
        s === 'lost' ? 'trawl: lost the Redis connection; retrying\n' : 'trawl: Redis connection restored\n',
      ),
  });
  const ac = new AbortController();
  // Every pending Redis call and rate wait listens on it; many at once is by design.
  setMaxListeners(0, ac.signal);
  try {
    let spec: CrawlSpec;
    if (mode === 'crawl') {
      // Seeds go in before the crawl is announced, so a worker that sees the crawl also sees work.
      const budget0 = hostBudget(resolved);
      const early = new RedisFrontier(client, { name, hostRate: budget0.rate, hostBurst: budget0.burst });
      await early.add(seedItems(resolved));
      spec = await publishSpec(client, name, specOf(resolved));
    } else {
      log(`trawl: joining crawl "${name}" at ${redactUrl(url)}`);
      const found = await loadSpec(client, name, waitMs);
      if (!found) {
        throw new UsageError(
          `no crawl named "${name}" at ${redactUrl(url)} (start it with trawl crawl <url> --redis ... --name ${name})`,
        );
      }
      spec = found;
    }
    const budget = hostBudget(spec);
    const frontier = new RedisFrontier(client, {
      name,
      hostRate: budget.rate,
      hostBurst: budget.burst,
      leaseTtlMs,
      signal: ac.signal,
      // One round trip per item is the bottleneck of a fast worker; lease a pool's worth at once.
      prefetch: Math.min(64, resolved.workers),
    });
    const gate = new RedisRateGate(client, { name, rate: spec.rate, burst: spec.burst });
    const crawl = new Crawl(
      // The per-host rate is enforced crawl-wide by the frontier; a second, local bucket at the same
      // rate would only add wake-up latency (the engine still caps per-host concurrency locally).
      {
        ...own,
        ...spec,
        name,
        hostRate: Number.POSITIVE_INFINITY,
        state: undefined,
        out: undefined,
        signal: ac.signal,
      },
      { frontier, limiter: gate },
    );
    const dashboard = listen ? await startDashboard({ ...listen, metrics: crawl.metrics }) : null;
    if (dashboard) process.stderr.write(`trawl: dashboard at ${dashboard.url}\n`);
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        log(
          `\ntrawl: ${sig}: finishing in-flight requests (send again to abort now; leases return to the crawl)`,
        );
        crawl.stop();
      } else {
        ac.abort();
        crawl.abort();
        process.stderr.write(`trawl: ${sig} again: aborted; stored records are kept in Redis\n`);
        process.exit(130);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const progress = flags.quiet ? null : startProgress(crawl, { json: flags.json });
    try {
      const summary = await crawl.done;
      if (flags.json) process.stdout.write(`${JSON.stringify({ event: 'summary', ...summary, name })}\n`);
      else log(formatSummary(summary));
    } finally {
      progress?.stop();
      await dashboard?.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (flags.out) {
      const { records, mark } = await exportRedis(client, name, flags.out);
      log(`trawl: exported ${records} records of crawl "${name}" to ${mark.path}`);
    } else {
      log(
        `trawl: records are in Redis; write them with: trawl export --redis ${redactUrl(url)} --name ${name} --out FILE`,
      );
    }
    return 0;
  } finally {
    await quit(client);
  }
}

/** `trawl export --redis URL --name NAME --out FILE`: writes every record of the crawl (works while it runs). */
export async function runRedisExport(flags: { redis: string; name?: string; out: string }): Promise<number> {
  if (!flags.name) throw new UsageError('trawl export --redis needs --name NAME');
  const client = await connectRedis(flags.redis);
  try {
    const { records, mark } = await exportRedis(client, flags.name, flags.out);
    process.stderr.write(`trawl: exported ${records} records of crawl "${flags.name}" to ${mark.path}\n`);
    return 0;
  } finally {
    await quit(client);
  }
}

function seedItems(o: CrawlOptions): FrontierItem[] {
  const items: FrontierItem[] = [];
  for (const s of o.seeds) {
    // Normalized exactly as the engine does, so its own add of the seeds is a no-op.
    const u = normalizeUrl(s, undefined, { stripParams: o.stripParams, stripSessionIds: o.stripSessionIds });
    if (u) items.push({ url: u, host: hostKey(u), depth: 0, referrer: null, attempts: 0 });
  }
  return items;
}

/** Quits politely when connected; drops the socket otherwise (QUIT would wait for a reconnect). */
async function quit(client: Redis): Promise<void> {
  if (client.status !== 'ready') return client.disconnect();
  await client.quit().catch(() => client.disconnect());
}
