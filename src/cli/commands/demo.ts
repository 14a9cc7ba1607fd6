import { UsageError } from '../../crawl/options.js';
import { hostAddress, MAX_HOSTS } from '../../testsite/multi-host-graph.js';
import { startTestSite } from '../../testsite/server.js';
import { SITES, siteNames } from '../../testsite/sites.js';
import type { CrawlFlagValues } from '../crawl-flags.js';
import { parseCount } from '../parse-values.js';
import { runCrawl } from './crawl.js';

/**
 * `trawl demo`: serves the bundled demo site on 127.0.0.1 (a free port) and crawls it with the
 * given flags, starting fresh each time (state in .trawl/demo.db, output demo.jsonl unless
 * --out says otherwise). Needs no network.
 */
export async function runDemo(flags: CrawlFlagValues & { pages: string }): Promise<number> {
  const pages = parseCount('pages', flags.pages, 1);
  const site = await startTestSite({ pages, linksPerPage: 10, seed: 1 });
  try {
    if (!flags.quiet) process.stderr.write(`trawl demo: serving a ${pages}-page demo site at ${site.url}\n`);
    return await runCrawl([site.url], {
      ...flags,
      name: flags.name ?? 'demo',
      // Starting over only means something with a state file; --no-state with fresh would conflict.
      fresh: flags.state !== false,
      out: flags.out ?? 'demo.jsonl',
    });
  } finally {
    await site.close();
  }
}

/**
 * Parses `serve-demo --hosts N` for site `site`: a whole number in 1..MAX_HOSTS, and only for
 * the demo site (the others are single-host). Refused here, before anything binds, so a typo
 * never leaves half of a thousand listeners open; the message names the addresses N would take.
 */
export function parseServeHosts(value: string | undefined, site: string): number | undefined {
  if (value === undefined) return undefined;
  const n = parseCount('hosts', value, 1);
  if (n > MAX_HOSTS) {
    throw new UsageError(
      `--hosts must be at most ${MAX_HOSTS} (one host per loopback address ${hostAddress(0)} … ` +
        `${hostAddress(MAX_HOSTS - 1)}, skipping 127.0.0.1 and .0/.255), got ${n}`,
    );
  }
  if (n > 1 && site !== 'demo')
    throw new UsageError(`--hosts applies to --site demo only (got --site ${site} --hosts ${n})`);
  return n;
}

/**
 * `trawl serve-demo`: serves a registered site (`--site`, default `demo`; see SITES in
 * testsite/sites.ts) until SIGINT/SIGTERM. An unknown site name or a bad flag value is a
 * UsageError (exit 2) raised before anything listens.
 */
export async function runServeDemo(flags: {
  port: string;
  host: string;
  pages: string;
  latency: string;
  site?: string;
  hosts?: string;
  capacity?: string;
  generation?: string;
}): Promise<number> {
  const name = flags.site ?? 'demo';
  const start = Object.hasOwn(SITES, name) ? SITES[name] : undefined;
  if (start === undefined) {
    throw new UsageError(`--site: unknown site "${name}" (known: ${siteNames().join(', ')})`);
  }
  const hosts = parseServeHosts(flags.hosts, name);
  const site = await start({
    pages: parseCount('pages', flags.pages, 1),
    port: parseCount('port', flags.port, 0),
    host: flags.host,
    latencyMs: parseCount('latency', flags.latency, 0),
    hosts,
    capacity: flags.capacity === undefined ? undefined : parseCount('capacity', flags.capacity, 1),
    generation: flags.generation === undefined ? undefined : parseCount('generation', flags.generation, 0),
  });
  process.stdout.write(`serving the ${name} site at ${site.url} (Ctrl-C to stop)\n`);
  // Which addresses a multi-host site took is not guessable from its first URL.
  if (hosts !== undefined && hosts > 1) process.stdout.write(`${site.describe()}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await site.close();
  return 0;
}
