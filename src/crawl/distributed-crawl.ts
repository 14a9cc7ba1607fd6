import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import { Crawl } from './crawler.js';
import type { Archive } from './engine/archive.js';
import { openArchive } from './engine/open-storage.js';
import type { FrontierItem } from './frontier/frontier.js';
import { type CrawlOptions, DEFAULTS, defaultName, resolveOptions } from './options.js';
import { connectRedis, redactUrl } from './redis/connect.js';
import { type CrawlSpec, hostBudget, loadSpec, publishSpec, specOf } from './redis/crawl-spec.js';
import { Presence } from './redis/presence.js';
import { loadPass, RedisFrontier } from './redis/redis-frontier.js';
import { RedisRateGate } from './redis/redis-rate-gate.js';
import { hostKey, normalizeUrl } from './url/normalize.js';
import { UsageError } from './usage-error.js';

/** How a process reaches a distributed crawl; shared by {@link distributedCrawl} and {@link joinCrawl}. */
export interface RedisConnection {
  /**
   * The Redis holding the crawl: `redis://[user:pass@]host:port[/db]` or `rediss://`. The crawl
   * opens its own connection and its `done` closes it.
   */
  redis: string;
  /**
   * How long a leased URL stays this process's without renewal, ms (default 30 000, at least
   * 100). Leases are renewed every third of it; a process that dies or hangs longer gives its
   * URLs back to the crawl. Also the time after which a dead process stops counting as live.
   */
  leaseTtlMs?: number;
  /** Told when the connection is lost and restored after the start (the crawl waits meanwhile). */
  onRedisStatus?: (status: 'lost' | 'reconnected') => void;
}

/**
 * The options the first process of a crawl publishes for everyone (see {@link CrawlSpec}); a
 * joining process adopts them, so {@link joinCrawl} does not take them.
 */
type SharedKey = keyof CrawlSpec;
/** Options no distributed crawl takes: its state and its records live in Redis. */
type LocalStorageKey = 'state' | 'out' | 'fresh' | 'retryFailed' | 'keepVersions';
/** The options of a recrawl pass: given to the process that starts it, adopted by the others. */
type PassKey = 'recrawl' | 'recrawlAfter' | 'changedOnly';

/** Options of {@link distributedCrawl}: a crawl's options (seeds, budget, scope...) plus where Redis is. */
export type DistributedCrawlOptions = Omit<Partial<CrawlOptions>, LocalStorageKey> &
  RedisConnection & { seeds?: string[] };

/** Options of {@link joinCrawl}: the crawl's name, this process's own options, and where Redis is. */
export type JoinCrawlOptions = Omit<Partial<CrawlOptions>, SharedKey | LocalStorageKey | PassKey | 'name'> &
  RedisConnection & {
    /** The crawl to join. */
    name: string;
    /** How long to wait for the crawl to be created, ms (default 0: it must exist already). */
    waitMs?: number;
    /** Called once, connected, when the crawl does not exist yet and the wait begins. */
    onWaiting?: () => void;
  };

/**
 * Starts or joins distributed crawl `options.name` (default: the first seed's host, as for a local
 * crawl) in the Redis at `options.redis`, and runs this process's share of it. Any number of
 * processes on any number of machines may do so at once: the first publishes the crawl's shared
 * options (scope, depth, rate and per-host budget, user agent: {@link CrawlSpec}) and the others
 * adopt those, ignoring their own; each adds its seeds (URLs the crawl has seen are not added
 * again). Per-process options (workers, connections, timeouts, parsers, onRecord) stay this
 * process's own.
 *
 * Resolves once connected, with the running {@link Crawl} — the same object `crawl()` returns:
 * async-iterable over the records this process stores, `stop()` for a graceful stop (unfinished
 * work goes back to the crawl at once), `abort()` (or aborting `options.signal`) for a hard one.
 * `done` resolves when the crawl is finished crawl-wide (nothing queued and no live lease in any
 * process) or this process was stopped, with this process's summary, after this process has
 * left the crawl's live members and its Redis connection is closed. A hard stop also ends every
 * wait on Redis, so `done` settles even when Redis has gone away — rejecting with the abort's
 * reason if it cut a Redis call short. Records are stored in Redis, not in a local file:
 * `trawl export --redis` writes them out.
 *
 * Rejects before any request with a RedisConnectError (a UsageError) when Redis cannot be
 * reached or the URL is malformed, and with a UsageError for invalid options, including the
 * local-storage options (`state`, `out`, `fresh`, `retryFailed`) a distributed crawl has no use
 * for. After a successful start a lost connection is waited out, never an error.
 */
export async function distributedCrawl(options: DistributedCrawlOptions): Promise<Crawl> {
  refuseLocalStorage(options);
  const leaseTtlMs = leaseTtlOf(options);
  const { redis, onRedisStatus, leaseTtlMs: _ttl, ...crawlOptions } = options;
  const resolved = resolveOptions({ ...crawlOptions, state: undefined, out: undefined, keepVersions: true });
  const name = defaultName(resolved);
  const client = await connectRedis(redis, { onStatus: onRedisStatus });
  const { recrawl: _r, recrawlAfter: _a, changedOnly: _c, ...own } = crawlOptions;
  return start(client, name, own, leaseTtlMs, async (presence, signal) => {
    const budget = hostBudget(resolved);
    const early = new RedisFrontier(client, {
      name,
      hostRate: budget.rate,
      hostBurst: budget.burst,
      owner: presence.id,
      signal,
    });
    if (resolved.recrawl === true) {
      // A recrawl starts (or continues) a pass of an existing crawl, whose options stay in force.
      const spec = await loadSpec(client, name, 0, signal);
      if (spec === null)
        throw new UsageError(
          `--recrawl: no crawl named "${name}" at ${redactUrl(redis)} (crawl it first, without --recrawl)`,
        );
      await early.startRecrawl(resolved.recrawlAfter ?? 0, resolved.changedOnly === true);
      await early.add(seedItems(resolved));
      return spec;
    }
    // Seeds go in before the crawl is announced, so a process that sees the crawl also sees work.
    await early.add(seedItems(resolved));
    return publishSpec(client, name, specOf(resolved), signal);
  });
}

/**
 * Joins the existing distributed crawl `options.name` in the Redis at `options.redis` as a worker:
 * adds no seeds, adopts the crawl's shared options and runs this process's share of it, exactly
 * as {@link distributedCrawl} does once started (same `done`, `stop`, `abort` and connection
 * semantics). While it waits for the crawl to be created (up to `waitMs`) the process already
 * counts as a live member of it (`trawl status --redis`).
 *
 * Rejects with a RedisConnectError when Redis cannot be reached, a UsageError for invalid options
 * or a missing name, and a UsageError naming the crawl when none of that name was created within
 * `waitMs` (the connection is closed in every case).
 */
export async function joinCrawl(options: JoinCrawlOptions): Promise<Crawl> {
  refuseLocalStorage(options);
  const leaseTtlMs = leaseTtlOf(options);
  const { redis, onRedisStatus, leaseTtlMs: _ttl, name, waitMs = 0, onWaiting, ...own } = options;
  if (typeof name !== 'string' || name === '')
    throw new UsageError('joinCrawl needs the name of the crawl to join');
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new UsageError(`waitMs must be ≥ 0 (got ${waitMs})`);
  const shared = own as Partial<Record<SharedKey, unknown>>;
  for (const k of ['seeds', 'sitemaps'] as const) {
    if (shared[k] !== undefined)
      throw new UsageError(`joinCrawl takes no ${k}: use distributedCrawl to add them`);
  }
  // Refuse bad per-process options before touching Redis (the seed is a placeholder: a worker has none).
  resolveOptions({ ...own, seeds: PLACEHOLDER });
  const client = await connectRedis(redis, { onStatus: onRedisStatus });
  return start(client, name, own, leaseTtlMs, async (_presence, signal) => {
    const now = await loadSpec(client, name, 0, signal);
    if (now) return now;
    if (waitMs > 0) onWaiting?.();
    const found = waitMs > 0 ? await loadSpec(client, name, waitMs, signal) : null;
    if (found) return found;
    throw new UsageError(
      `no crawl named "${name}" at ${redactUrl(redis)} (start it with trawl crawl <url> --redis ... --name ${name})`,
    );
  });
}

/**
 * The part both entries share, on a connected client: registers this process, obtains the spec
 * (`getSpec`), and builds the Crawl on the Redis frontier and rate gate. On any failure before the
 * Crawl exists the presence is withdrawn and the connection closed; after, the frontier's close
 * (when `done` settles) does both.
 */
async function start(
  client: Redis,
  name: string,
  own: Partial<CrawlOptions>,
  leaseTtlMs: number,
  getSpec: (presence: Presence, signal: AbortSignal) => Promise<CrawlSpec>,
): Promise<Crawl> {
  const presence = new Presence(client, name, { ttlMs: leaseTtlMs });
  // The crawl's hard stop: every pending Redis call and rate wait listens on it, many at once.
  const hardStop = new AbortController();
  setMaxListeners(0, hardStop.signal);
  const userSignal = own.signal;
  const onUserAbort = () => hardStop.abort(userSignal?.reason);
  let crawl: Crawl;
  let archive: Archive | null = null;
  try {
    userSignal?.throwIfAborted();
    userSignal?.addEventListener('abort', onUserAbort, { once: true });
    await presence.start();
    const spec = await getSpec(presence, hardStop.signal);
    const budget = hostBudget(spec);
    // A recrawl pass's options are the crawl's: every process of the pass adopts them.
    const pass = await loadPass(client, name, hardStop.signal);
    const passOptions: Partial<CrawlOptions> =
      pass.n === 0 ? {} : { recrawl: true, recrawlAfter: pass.after, changedOnly: pass.changedOnly };
    // Each process archives into its own WARC file, named by its lease owner id (warc-marks.ts).
    archive = openArchive(
      resolveOptions({ ...own, ...spec, ...passOptions, name, seeds: PLACEHOLDER, keepVersions: true }),
      name,
      undefined,
      presence.id,
    );
    const warc = archive;
    const frontier = new RedisFrontier(client, {
      name,
      hostRate: budget.rate,
      hostBurst: budget.burst,
      leaseTtlMs,
      signal: hardStop.signal,
      // One round trip per item is the bottleneck of a fast worker; lease a pool's worth at once.
      prefetch: Math.min(64, own.workers ?? DEFAULTS.workers),
      owner: presence.id,
      presence,
      ownsClient: true,
      ...(warc === null ? {} : { rewriteWarc: warc.rewriteBatch.bind(warc) }),
      changedOnly: pass.changedOnly,
    });
    const gate = new RedisRateGate(client, { name, rate: spec.rate, burst: spec.burst });
    crawl = new RedisCrawl(
      {
        ...own,
        ...spec,
        ...passOptions,
        keepVersions: true,
        name,
        // The per-host rate is enforced crawl-wide by the frontier; a second, local bucket at the
        // same rate would only add wake-up latency (the engine still caps per-host concurrency).
        hostRate: Number.POSITIVE_INFINITY,
        state: undefined,
        out: undefined,
        signal: hardStop.signal,
      },
      frontier,
      gate,
      hardStop,
      warc,
    );
  } catch (err) {
    await archive?.close().catch(() => undefined);
    userSignal?.removeEventListener('abort', onUserAbort);
    await presence.stop();
    await quit(client);
    throw err;
  }
  void crawl.done.finally(() => userSignal?.removeEventListener('abort', onUserAbort)).catch(() => undefined);
  return crawl;
}

/**
 * A Crawl whose hard stop also ends its waits on Redis: `abort()` aborts the signal the frontier
 * and the rate gate listen on, so a crawl aborted while Redis is unreachable ends at once.
 */
class RedisCrawl extends Crawl {
  readonly #hardStop: AbortController;

  constructor(
    options: Partial<CrawlOptions>,
    frontier: RedisFrontier,
    gate: RedisRateGate,
    hardStop: AbortController,
    archive: Archive | null,
  ) {
    super(options, { frontier, limiter: gate, archive });
    this.#hardStop = hardStop;
  }

  override abort(): void {
    this.#hardStop.abort();
    super.abort();
  }
}

/** Refuses the local-storage options (a JavaScript caller may pass them despite the types). */
function refuseLocalStorage(options: object): void {
  const o = options as Partial<Record<LocalStorageKey, unknown>>;
  if (o.state !== undefined) throw new UsageError('--state and --redis conflict: the state lives in Redis');
  if (o.out !== undefined)
    throw new UsageError(
      'a distributed crawl stores its records in Redis: export them with trawl export --redis',
    );
  if (o.fresh || o.retryFailed)
    throw new UsageError('--fresh and --retry-failed are not supported with --redis');
}

/** A seed for checking a worker's options (it has none of its own). */
const PLACEHOLDER = ['http://placeholder.invalid/'];

function leaseTtlOf(o: RedisConnection): number {
  const ms = o.leaseTtlMs ?? 30_000;
  if (!Number.isFinite(ms) || ms < 100)
    throw new UsageError(`--lease-ttl must be at least 100ms (got ${ms} ms)`);
  return ms;
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
