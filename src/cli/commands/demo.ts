import { startTestSite } from '../../testsite/server.js';
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

/** `trawl serve-demo`: serves the demo site until SIGINT/SIGTERM. */
export async function runServeDemo(flags: {
  port: string;
  host: string;
  pages: string;
  latency: string;
}): Promise<number> {
  const site = await startTestSite({
    pages: parseCount('pages', flags.pages, 1),
    port: parseCount('port', flags.port, 0),
    host: flags.host,
    latencyMs: parseCount('latency', flags.latency, 0),
    seed: 1,
  });
  process.stdout.write(`serving the demo site at ${site.url} (Ctrl-C to stop)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await site.close();
  return 0;
}
