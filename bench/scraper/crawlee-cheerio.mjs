// The Crawlee baseline of `npm run bench:scraper`: CheerioCrawler (@crawlee/cheerio, pinned in
// devDependencies) running the same handler as bench/scrapers/title-links.ts — push
// {url, title, h1, links} and enqueue every link on the same host — from a start URL.
// Run the way a Crawlee user runs it: `node crawlee-cheerio.mjs URL` (plain node, no flags).
//
// What is set, and why (everything else is Crawlee's default):
// - maxConcurrency 64 and minConcurrency 64: the "maxConcurrency 64", held fixed. With
//   minConcurrency = maxConcurrency the AutoscaledPool's desired concurrency starts at 64 and
//   can never scale down, and its "system is overloaded" check only blocks a new task once 64 are
//   already running — so the snapshotter's memory/CPU/event-loop limits cannot throttle the
//   crawl (by default the pool starts at minConcurrency 1 and grows by 5 % every 10 s while the
//   system reads idle; on 2 busy cores its CPU signal, system-wide use > 95 %, would hold it
//   back). trawl runs at a fixed 64 workers too. The snapshotter itself still runs (its once-a-second `ps` included), as
//   it does for every Crawlee user; its CPU is counted, it is Crawlee's.
// - persistStorage: false (the "memory storage"): the dataset and the request queue live
//   in memory and nothing is written to disk (by default Crawlee writes one JSON file per item and
//   per request under ./storage). CRAWLEE_STORAGE_DIR is also pointed at a temporary directory by
//   the harness, so even a default that did write would not touch the work tree.
// Retries stay at Crawlee's default (3, as trawl's), robots.txt is not fetched (Crawlee's default).
//
// After the crawl it reads the dataset back and prints one JSON line on stdout: items, distinct
// item URLs, and Crawlee's own finished/failed request counts, which the harness checks.
import { CheerioCrawler, Configuration } from '@crawlee/cheerio';

const url = process.argv[2];
if (!url) {
  process.stderr.write('usage: node crawlee-cheerio.mjs URL\n');
  process.exit(2);
}

const config = new Configuration({ persistStorage: false });
const crawler = new CheerioCrawler(
  {
    maxConcurrency: 64,
    minConcurrency: 64,
    async requestHandler({ $, request, enqueueLinks, pushData }) {
      await pushData({
        url: request.loadedUrl ?? request.url,
        title: $('title').text(),
        h1: $('h1').text(),
        links: $('a[href]').length,
      });
      // Default strategy 'same-hostname', default selector 'a': every link on the same host.
      await enqueueLinks();
    },
  },
  config,
);

const stats = await crawler.run([url]);
const data = await crawler.getData();
const urls = new Set(data.items.map((i) => i.url));
process.stdout.write(
  `${JSON.stringify({
    items: data.items.length,
    distinctUrls: urls.size,
    requestsFinished: stats.requestsFinished,
    requestsFailed: stats.requestsFailed,
  })}\n`,
);
