import { type Command, Option } from 'commander';
import { type CrawlOptions, DEFAULTS, UsageError } from '../crawl/options.js';
import {
  parseRenderResources,
  parseRenderWait,
  RENDER_MODES,
  type RenderMode,
} from '../crawl/render/render-options.js';
import { parseCount, parseDuration, parseList, parseRate, parseSize } from './parse-values.js';
import { repeatable } from './repeated-options.js';
import { parseBlockCodes, parseHeaderFlags } from './session-flags.js';

/**
 * Adds every crawl option, with its default shown in --help, to a command. Options given with
 * {@link repeatable} may be repeated; any other given twice is refused (see repeated-options.ts).
 */
export function addCrawlFlags(cmd: Command): Command {
  const d = DEFAULTS;
  return cmd
    .option('--workers <n>', 'fetch workers (the worker pool)', String(d.workers))
    .option('--parsers <n>', 'parse worker threads (0 = parse on the main thread)', String(d.parsers))
    .option('--rate <n>', 'global requests per second, or inf', String(d.rate))
    .option('--burst <n>', 'global token-bucket burst', String(d.burst))
    .option('--max-connections <n>', 'cap on open HTTP connections', String(d.maxConnections))
    .option('--timeout <duration>', 'per-request timeout (connect, headers and body)', '5s')
    .option('--handler-timeout <duration>', "how long a scraper's handler may run on one page", '60s')
    .option('--retries <n>', 'retries for network errors, timeouts, 408/425/429/5xx', String(d.retries))
    .option('--depth <n>', 'maximum link depth (seeds are 0; 0-999)', String(d.depth))
    .option('--max-pages <n>', 'stop after N pages stored (default: no limit)')
    .option('--max-time <duration>', 'stop gracefully after this long, e.g. 30m (default: no limit)')
    .option('--max-pages-per-host <n>', 'per-host page budget (default: no limit)')
    .addOption(
      new Option('--scope <scope>', 'which links to follow')
        .choices(['host', 'domain', 'any'])
        .default(d.scope),
    )
    .option('--include <pattern>', 'only follow URLs matching (glob or /regex/), repeatable', repeatable, [])
    .option('--exclude <pattern>', 'never follow URLs matching (glob or /regex/), repeatable', repeatable, [])
    .option(
      '--strip-params <list>',
      'query parameters removed from URLs (globs, comma-separated)',
      d.stripParams.join(','),
    )
    .option('--max-bytes <size>', 'body cap after decompression', '10MB')
    .option(
      '--out <file>',
      'output file: .jsonl, .csv or .sqlite, in an existing directory, or - for stdout (default: <name>.jsonl)',
    )
    .option('--extract <spec>', 'extra field name=css-selector[@attr], repeatable', repeatable, [])
    .option('--user-agent <ua>', 'User-Agent header and robots.txt token', d.userAgent)
    .addOption(
      new Option(
        '--header <header>',
        "extra request header 'Name: value' sent with every request, repeatable (not Host, Content-Length, Transfer-Encoding, Connection; User-Agent is --user-agent)",
      )
        .argParser(repeatable)
        .default([], 'none'),
    )
    .option(
      '--cookies <file>',
      "import a Netscape cookies.txt (as curl, wget and browsers' export extensions write) into every session's cookie jar (default: none)",
    )
    .option(
      '--no-cookies',
      'keep no cookie jar: send no cookies, ignore Set-Cookie (default: a jar per session)',
    )
    .option(
      '--sessions <n>',
      'identities, each with its own cookie jar (and proxy); a blocked one is retired and replaced',
      String(d.sessions),
    )
    .option(
      '--session-block-codes <list>',
      'statuses that mean a session is blocked: it is retired and the page retried on another (comma-separated, or none)',
      (d.sessionBlockCodes ?? []).join(','),
    )
    .addOption(
      new Option(
        '--proxy <url>',
        'send every request through this proxy, http://, https:// or socks5://[user:pass@]host:port; repeatable (see --proxy-rotation)',
      )
        .argParser(repeatable)
        .default([], 'HTTP_PROXY, HTTPS_PROXY and NO_PROXY from the environment'),
    )
    .addOption(
      new Option(
        '--proxy-rotation <mode>',
        'how requests spread over the proxies: round-robin, or session (each session keeps its proxy)',
      )
        .choices(['round-robin', 'session'])
        .default(d.proxyRotation),
    )
    .option(
      '--render [mode]',
      'render pages in Chromium: always (every page, the default when the flag is given) or auto (only pages that need it)',
    )
    .option(
      '--render-wait <wait>',
      'when a rendered page is read: settled (load, then no pending fetch/XHR/short timer and a quiet DOM), load, domcontentloaded, networkidle, or selector:CSS',
      'settled',
    )
    .option('--render-timeout <duration>', "one page's render deadline, navigation and wait included", '30s')
    .option('--browsers <n>', 'Chromium processes for --render', String(d.browsers))
    .option('--tabs <n>', 'concurrent pages per Chromium process', String(d.tabs))
    .option(
      '--browser-recycle <n>',
      'replace a Chromium process after it rendered this many pages (bounds its memory)',
      String(d.browserRecycle),
    )
    .option(
      '--render-resources <list>',
      'resource types rendered pages may load: image, media, font, stylesheet (comma-separated; default: none, all blocked)',
    )
    .option('--chromium <path>', 'the Chromium executable for --render (default: the system Chromium)')
    .option('--host-rate <n>', 'per-host requests per second, or inf', 'inf')
    .option('--host-burst <n>', 'per-host burst', String(d.hostBurst))
    .option('--host-concurrency <n>', 'per-host concurrent requests', String(d.hostConcurrency))
    .option(
      '--auto-throttle',
      "adapt each host's concurrency (1 up to --host-concurrency) and delay to its latency and 429/503s",
      false,
    )
    .option('--ignore-robots', 'do not fetch or obey robots.txt', false)
    .option('--sitemap <url>', 'seed from a sitemap (repeatable)', repeatable, [])
    .addOption(
      new Option('--sitemaps <mode>', 'also seed from robots.txt Sitemap: lines')
        .choices(['auto', 'off'])
        .default('off'),
    )
    .option('--max-url-length <n>', 'trap guard: longest URL followed', String(d.maxUrlLength))
    .option(
      '--max-repeated-segments <n>',
      'trap guard: a path segment may repeat this often',
      String(d.maxRepeatedSegments),
    )
    .option('--max-path-depth <n>', 'trap guard: deepest path followed', String(d.maxPathDepth))
    .option(
      '--max-query-variants <n>',
      'trap guard: distinct query strings followed per path',
      String(d.maxQueryVariants),
    )
    .option('--keep-session-ids', 'keep session-id parameters (jsessionid, PHPSESSID, ...) in URLs', false)
    .option('--allow-private', 'allow hosts on private/loopback addresses', false)
    .option(
      '--state <file>',
      'resumable SQLite state file, in an existing directory (default: .trawl/<name>.db, creating .trawl/)',
    )
    .option('--no-state', 'keep the frontier in memory, not resumable (default: keep state)')
    .option('--name <name>', 'crawl name (default: the first seed host)')
    .option('--fresh', 'start over even if the state file exists', false)
    .option('--retry-failed', 're-queue URLs that failed in an earlier run', false)
    .option(
      '--recrawl',
      "crawl the state's pages again with If-None-Match/If-Modified-Since; records say what changed",
      false,
    )
    .option(
      '--recrawl-after <duration>',
      'with --recrawl: only pages fetched at least this long ago (e.g. 12h, 7d), or auto (per-page interval) (default: every page)',
    )
    .option('--changed-only', 'with --recrawl: write only new, changed and gone pages to the output', false)
    .option(
      '--warc <file>',
      'write every fetch as WARC/1.1 records to FILE.warc.gz (or .warc) (default: none)',
    )
    .option(
      '--warc-dir <dir>',
      'write WARC files into DIR, starting a new one at --warc-max-size (default: none)',
    )
    .option(
      '--warc-max-size <size>',
      'with --warc-dir: size at which a new WARC file is started (default 1GB)',
    )
    .option(
      '--cache <dir>',
      'keep every response in DIR and answer from it next time (for developing scrapers) (default: none)',
    )
    .addOption(
      new Option(
        '--cache-mode <mode>',
        'with --cache: replay any stored response (default), refresh (never read), rfc9111 (HTTP caching rules)',
      ).choices(['replay', 'refresh', 'rfc9111']),
    )
    .option('--expect <n>', 'expected number of URLs (sizes the bloom filter)', String(d.expect))
    .option(
      '--dashboard [addr]',
      'serve the live dashboard and /metrics at [host:]port (default 127.0.0.1:9090; port 0 = any)',
    )
    .option('--metrics [addr]', 'serve Prometheus /metrics at [host:]port (default 127.0.0.1:9090)')
    .option('--quiet', 'no progress output', false)
    .option('--json', 'log progress and the summary as JSON lines', false);
}

/** `--lease-ttl`'s value when the flag is not given. */
export const DEFAULT_LEASE_TTL = '30s';
/** `--wait`'s value when the flag is not given. */
export const DEFAULT_WAIT = '30s';

/**
 * Adds the distributed-crawl flags: `--redis URL` (crawl in Redis instead of a state file) and
 * `--lease-ttl` (how long a dead worker's URLs stay leased); for `trawl worker` (`worker: true`)
 * `--redis` is required and `--wait` (how long it waits for the crawl to be created) is added.
 * The Redis-only flags have no commander default (their defaults are shown in the help and
 * applied by the command), so that giving one without `--redis` can be told apart and refused.
 */
export function addRedisFlags(cmd: Command, opts: { worker?: boolean } = {}): Command {
  const redis = 'crawl through Redis, shared with other processes (redis://host:port[/db])';
  (opts.worker
    ? cmd.requiredOption('--redis <url>', `${redis} (required)`)
    : cmd.option('--redis <url>', `${redis} (default: none, a local state file)`)
  ).option(
    '--lease-ttl <duration>',
    `with --redis: a leased URL returns to the queue if its worker is silent this long (default: ${DEFAULT_LEASE_TTL})`,
  );
  if (opts.worker) {
    cmd.option(
      '--wait <duration>',
      `how long the worker waits for the crawl to be created (default: ${DEFAULT_WAIT})`,
    );
  }
  return cmd;
}

/** The raw values commander collects for the Redis flags (undefined: not given). */
export interface RedisFlagValues {
  redis?: string;
  leaseTtl?: string;
  wait?: string;
}

/** The raw values commander collects for the crawl flags. */
export interface CrawlFlagValues {
  workers: string;
  parsers: string;
  rate: string;
  burst: string;
  maxConnections: string;
  timeout: string;
  handlerTimeout: string;
  retries: string;
  depth: string;
  maxPages?: string;
  maxTime?: string;
  maxPagesPerHost?: string;
  scope: 'host' | 'domain' | 'any';
  include: string[];
  exclude: string[];
  stripParams: string;
  maxBytes: string;
  out?: string;
  extract: string[];
  userAgent: string;
  header: string[];
  /** A cookies.txt file (`--cookies FILE`), false for `--no-cookies`, undefined for neither. */
  cookies?: string | false;
  sessions: string;
  sessionBlockCodes: string;
  proxy: string[];
  proxyRotation: 'round-robin' | 'session';
  /** `--render` alone is true; `--render MODE` the mode as typed. */
  render?: string | true;
  renderWait: string;
  renderTimeout: string;
  browsers: string;
  tabs: string;
  browserRecycle: string;
  renderResources?: string;
  chromium?: string;
  hostRate: string;
  hostBurst: string;
  hostConcurrency: string;
  autoThrottle: boolean;
  ignoreRobots: boolean;
  sitemap: string[];
  sitemaps: 'auto' | 'off';
  maxUrlLength: string;
  maxRepeatedSegments: string;
  maxPathDepth: string;
  maxQueryVariants: string;
  keepSessionIds: boolean;
  allowPrivate: boolean;
  state: string | boolean;
  name?: string;
  fresh: boolean;
  retryFailed: boolean;
  recrawl: boolean;
  recrawlAfter?: string;
  changedOnly: boolean;
  warc?: string;
  warcDir?: string;
  warcMaxSize?: string;
  cache?: string;
  cacheMode?: 'replay' | 'refresh' | 'rfc9111';
  expect: string;
  dashboard?: string | boolean;
  metrics?: string | boolean;
  quiet: boolean;
  json: boolean;
}

/**
 * Parses a `[host:]port` listen address (`9090`, `127.0.0.1:0`, `[::1]:9090`, `0.0.0.0:8080`);
 * `true` (the flag without a value) means 127.0.0.1:9090.
 */
export function parseListenAddress(flag: string, value: string | true): { host: string; port: number } {
  if (value === true) return { host: '127.0.0.1', port: 9090 };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new UsageError(
      `--${flag}: expected [host:]port, e.g. 9090 or 127.0.0.1:0 (got ${JSON.stringify(value)})`,
    );
  }
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

/**
 * The CrawlOptions fields each crawl flag sets through {@link toCrawlOptions}; CLI-only flags
 * (output, progress, dashboard) set none. Used to tell which options the user typed.
 */
const OPTIONS_OF_FLAG: { readonly [F in keyof CrawlFlagValues]-?: readonly (keyof CrawlOptions)[] } = {
  workers: ['workers'],
  parsers: ['parsers'],
  rate: ['rate'],
  burst: ['burst'],
  maxConnections: ['maxConnections'],
  timeout: ['timeoutMs'],
  handlerTimeout: ['handlerTimeoutMs'],
  retries: ['retries'],
  depth: ['depth'],
  maxPages: ['maxPages'],
  maxTime: ['maxTimeMs'],
  maxPagesPerHost: ['maxPagesPerHost'],
  scope: ['scope'],
  include: ['include'],
  exclude: ['exclude'],
  stripParams: ['stripParams'],
  maxBytes: ['maxBytes'],
  out: ['out'],
  extract: ['extract'],
  userAgent: ['userAgent'],
  header: ['headers'],
  // --cookies FILE and --no-cookies both decide the pair: either one typed overrides a scraper's.
  cookies: ['cookies', 'cookieFile'],
  sessions: ['sessions'],
  sessionBlockCodes: ['sessionBlockCodes'],
  proxy: ['proxies'],
  proxyRotation: ['proxyRotation'],
  render: ['render'],
  renderWait: ['renderWait'],
  renderTimeout: ['renderTimeoutMs'],
  browsers: ['browsers'],
  tabs: ['tabs'],
  browserRecycle: ['browserRecycle'],
  renderResources: ['renderResources'],
  chromium: ['chromium'],
  hostRate: ['hostRate'],
  hostBurst: ['hostBurst'],
  hostConcurrency: ['hostConcurrency'],
  autoThrottle: ['autoThrottle'],
  ignoreRobots: ['ignoreRobots'],
  sitemap: ['sitemaps'],
  sitemaps: ['sitemapsAuto'],
  maxUrlLength: ['maxUrlLength'],
  maxRepeatedSegments: ['maxRepeatedSegments'],
  maxPathDepth: ['maxPathDepth'],
  maxQueryVariants: ['maxQueryVariants'],
  keepSessionIds: ['stripSessionIds'],
  allowPrivate: ['allowPrivate'],
  state: ['state'],
  name: ['name'],
  fresh: ['fresh'],
  retryFailed: ['retryFailed'],
  recrawl: ['recrawl'],
  recrawlAfter: ['recrawlAfter'],
  changedOnly: ['changedOnly'],
  warc: ['warc'],
  warcDir: ['warcDir'],
  warcMaxSize: ['warcMaxSize'],
  cache: ['cache'],
  cacheMode: ['cacheMode'],
  expect: ['expect'],
  dashboard: [],
  metrics: [],
  quiet: [],
  json: [],
};

/**
 * Which flags of `cmd` the user gave: a flag typed on the command line (commander's value source
 * 'cli', `--no-state` counting for `state`) or taken from the environment ('env'); a flag left
 * at its default, or absent, was not typed.
 */
export function typedFlags(cmd: Command): (flag: keyof CrawlFlagValues) => boolean {
  return (flag) => {
    const source = cmd.getOptionValueSource(flag);
    return source === 'cli' || source === 'env';
  };
}

/**
 * Puts a scraper's `options` between trawl's defaults and the flags the user typed: the result
 * is `cli` (every flag turned into options, defaults included) with each of `scraper`'s options
 * laid over it, except those a typed flag sets (`typed`), which keep the flag's value. So a CLI
 * default never overwrites what the scraper set (its `stripParams`, say), and a typed flag always
 * wins. `seeds` and options the scraper leaves undefined are never taken from it (the seeds are
 * the CLI URLs or the scraper's `start`, chosen by the caller).
 */
export function layerScraperOptions(
  cli: Partial<CrawlOptions> & { seeds: string[] },
  scraper: Partial<CrawlOptions>,
  typed: (flag: keyof CrawlFlagValues) => boolean,
): Partial<CrawlOptions> & { seeds: string[] } {
  const fromFlags = new Set<string>();
  for (const [flag, keys] of Object.entries(OPTIONS_OF_FLAG)) {
    if (typed(flag as keyof CrawlFlagValues)) for (const k of keys) fromFlags.add(k);
  }
  const out: Record<string, unknown> = { ...cli };
  for (const [k, v] of Object.entries(scraper)) {
    if (k !== 'seeds' && v !== undefined && !fromFlags.has(k)) out[k] = v;
  }
  return out as Partial<CrawlOptions> & { seeds: string[] };
}

/**
 * `--render`'s mode: the flag alone (true) or `always` is always, `auto` is auto, `off` is off.
 * Anything else is refused, naming the value (toCrawlOptions takes an http(s) URL typed right
 * after `--render` as the first URL, not as a mode).
 */
export function parseRenderMode(value: string | true): RenderMode {
  if (value === true) return 'always';
  if ((RENDER_MODES as readonly string[]).includes(value)) return value as RenderMode;
  throw new UsageError(`--render: unknown mode ${JSON.stringify(value)} (expected always or auto)`);
}

/** Turns flag strings into typed crawl options, throwing a UsageError naming the bad flag. */
export function toCrawlOptions(
  seeds: string[],
  f: CrawlFlagValues,
): Partial<CrawlOptions> & { seeds: string[] } {
  if (f.fresh && f.state === false)
    throw new UsageError('--fresh and --no-state conflict: there is no state to start over');
  if (f.retryFailed && f.state === false)
    throw new UsageError('--retry-failed needs a state file (drop --no-state)');
  if (f.recrawl && f.state === false)
    throw new UsageError(
      '--recrawl needs a state file (drop --no-state): the pages to crawl again are in it',
    );
  // `--render URL`: commander takes the URL as the flag's optional value; it is the first URL.
  const renderSeed = typeof f.render === 'string' && /^https?:\/\//i.test(f.render) ? f.render : undefined;
  return {
    seeds: renderSeed === undefined ? seeds : [renderSeed, ...seeds],
    name: f.name,
    workers: parseCount('workers', f.workers, 1),
    parsers: parseCount('parsers', f.parsers, 0),
    rate: parseRate('rate', f.rate),
    burst: parseCount('burst', f.burst, 1),
    maxConnections: parseCount('max-connections', f.maxConnections, 1),
    timeoutMs: parseDuration('timeout', f.timeout),
    handlerTimeoutMs: parseDuration('handler-timeout', f.handlerTimeout),
    retries: parseCount('retries', f.retries, 0),
    depth: parseCount('depth', f.depth, 0),
    maxPages: f.maxPages === undefined ? undefined : parseCount('max-pages', f.maxPages, 1),
    maxTimeMs: f.maxTime === undefined ? undefined : parseDuration('max-time', f.maxTime),
    maxPagesPerHost:
      f.maxPagesPerHost === undefined ? undefined : parseCount('max-pages-per-host', f.maxPagesPerHost, 1),
    scope: f.scope,
    include: f.include,
    exclude: f.exclude,
    stripParams: parseList(f.stripParams),
    maxBytes: parseSize('max-bytes', f.maxBytes),
    out: f.out,
    extract: f.extract,
    userAgent: f.userAgent,
    headers: f.header.length > 0 ? parseHeaderFlags(f.header) : undefined,
    cookies: f.cookies === undefined ? undefined : f.cookies !== false,
    cookieFile: typeof f.cookies === 'string' ? f.cookies : undefined,
    sessions: parseCount('sessions', f.sessions, 1),
    sessionBlockCodes: parseBlockCodes(f.sessionBlockCodes),
    proxies: f.proxy.length > 0 ? f.proxy : undefined,
    proxyRotation: f.proxyRotation,
    render:
      f.render === undefined ? undefined : renderSeed !== undefined ? 'always' : parseRenderMode(f.render),
    renderWait: parseRenderWait(f.renderWait),
    renderTimeoutMs: parseDuration('render-timeout', f.renderTimeout),
    browsers: parseCount('browsers', f.browsers, 1),
    tabs: parseCount('tabs', f.tabs, 1),
    browserRecycle: parseCount('browser-recycle', f.browserRecycle, 1),
    renderResources: f.renderResources === undefined ? undefined : parseRenderResources(f.renderResources),
    chromium: f.chromium,
    hostRate: parseRate('host-rate', f.hostRate),
    hostBurst: parseCount('host-burst', f.hostBurst, 1),
    hostConcurrency: parseCount('host-concurrency', f.hostConcurrency, 1),
    autoThrottle: f.autoThrottle,
    ignoreRobots: f.ignoreRobots,
    sitemaps: f.sitemap,
    sitemapsAuto: f.sitemaps === 'auto',
    maxUrlLength: parseCount('max-url-length', f.maxUrlLength, 16),
    maxRepeatedSegments: parseCount('max-repeated-segments', f.maxRepeatedSegments, 1),
    maxPathDepth: parseCount('max-path-depth', f.maxPathDepth, 1),
    maxQueryVariants: parseCount('max-query-variants', f.maxQueryVariants, 1),
    stripSessionIds: !f.keepSessionIds,
    allowPrivate: f.allowPrivate,
    state: typeof f.state === 'string' ? f.state : undefined,
    fresh: f.fresh,
    retryFailed: f.retryFailed,
    recrawl: f.recrawl,
    recrawlAfter:
      f.recrawlAfter === undefined
        ? undefined
        : f.recrawlAfter.trim() === 'auto'
          ? 'auto'
          : parseDuration('recrawl-after', f.recrawlAfter),
    changedOnly: f.changedOnly,
    warc: f.warc,
    warcDir: f.warcDir,
    warcMaxSize: f.warcMaxSize === undefined ? undefined : parseSize('warc-max-size', f.warcMaxSize),
    cache: f.cache,
    cacheMode: f.cacheMode,
    expect: parseCount('expect', f.expect, 1),
  };
}
