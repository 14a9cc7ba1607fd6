// The Crawlee baseline of `npm run bench:render`: PlaywrightCrawler (@crawlee/playwright, pinned
// in devDependencies with the `playwright` package it drives) crawling the client-rendered test
// site from a start URL, reading each page's script-set title and links, enqueueing every link on
// the same host. Run the way a Crawlee user runs it: plain `node`, no flags:
//   node crawlee-playwright.mjs URL ITEMS_FILE TABS CHROMIUM_PATH CHROMIUM_ARGS_JSON
// with WAIT=selector (default) or WAIT=networkidle, and FINGERPRINTS=0 to turn Crawlee's default
// browser fingerprinting off, in the environment.
//
// What is set, and why (everything else is Crawlee's default):
// - The browser: the same Chromium as trawl's (the harness passes Debian's /usr/bin/chromium and
//   test/helpers/chromium.ts's flags), headless, launched by the `playwright` package's
//   `chromium` launcher through launchContext.launchOptions.
// - Concurrency: maxConcurrency = minConcurrency = TABS (trawl runs `--browsers 1 --tabs TABS`)
//   and the browser pool's maxOpenPagesPerBrowser = TABS, so one browser holds every open page.
//   min = max holds the concurrency fixed, as bench/scraper/crawlee-cheerio.mjs does: the
//   autoscaled pool starts there and cannot scale down, so its snapshotter's CPU and memory
//   signals (on 2 busy cores CPU reads "overloaded") cannot throttle the crawl. Browser
//   retirement stays at Crawlee's default (a fresh browser every 100 pages; the retiring one
//   finishes its open pages first, so for a moment two run) — that is how its users run it, and
//   part of how Crawlee bounds memory.
// - Resources: the documented way to block them, `blockRequests()` in a preNavigationHook (a CDP
//   Network.setBlockedURLs per page, by URL pattern). Its default patterns (.css, images, .woff,
//   .pdf, .zip) plus the media and font extensions it lacks, to match what trawl blocks by
//   default (images, media, fonts, stylesheets; trawl blocks by resource type). The test site
//   serves none of these, so the blocking costs each tool only its mechanism.
// - The wait: the site is an app shell — the document is an empty `<div id=app>` and the script
//   fetches `/api/page` after load, then sets `document.title` and renders the links. Crawlee's
//   navigation waits for `load` only, which is before any of that; its documentation's answer
//   for JavaScript-rendered content is to wait in the handler for the element you need
//   (`await page.waitForSelector(...)`, the "JavaScript rendering" guide). So the default handler
//   waits for `#app a` — the first rendered link; the script sets the title before it inserts
//   the links, so title and links are complete at that point on every page but one: `/delayed`
//   adds three links 300 ms after load, which this wait does not see (the harness expects
//   exactly the pages reachable without them). WAIT=networkidle instead waits for Playwright's
//   networkidle (no request for 500 ms), the generic "everything the page fetches" wait a user
//   writes when they don't know the markup — it sees the late links, at ≥ 500 ms per page.
// - Storage: persistStorage false (memory storage, as the scraper benchmark's Cheerio run), and
//   the harness points CRAWLEE_STORAGE_DIR at a temporary directory.
// Retries stay at Crawlee's default (3), robots.txt is not fetched (Crawlee's default).
//
// After the crawl it writes the dataset as JSONL ({url, title, links}) to ITEMS_FILE and prints
// one JSON line on stdout with Crawlee's own request counts, which the harness checks.
import { writeFileSync } from 'node:fs';
import { Configuration, PlaywrightCrawler } from '@crawlee/playwright';
import { chromium } from 'playwright';

const [url, itemsFile, tabsArg, executablePath, argsJson] = process.argv.slice(2);
if (!url || !itemsFile || !tabsArg || !executablePath || !argsJson) {
  process.stderr.write(
    'usage: node crawlee-playwright.mjs URL ITEMS_FILE TABS CHROMIUM_PATH CHROMIUM_ARGS_JSON\n',
  );
  process.exit(2);
}
const tabs = Number(tabsArg);
const wait = process.env.WAIT ?? 'selector';
if (wait !== 'selector' && wait !== 'networkidle') {
  process.stderr.write(`WAIT must be selector or networkidle, got ${wait}\n`);
  process.exit(2);
}

// blockRequests' defaults plus the media and font types trawl also blocks.
const EXTRA_BLOCKED = [
  '.woff2',
  '.ttf',
  '.otf',
  '.eot',
  '.webp',
  '.avif',
  '.ico',
  '.mp4',
  '.webm',
  '.mp3',
  '.ogg',
  '.wav',
];

const config = new Configuration({ persistStorage: false });
const crawler = new PlaywrightCrawler(
  {
    maxConcurrency: tabs,
    minConcurrency: tabs,
    launchContext: {
      launcher: chromium,
      launchOptions: { executablePath, headless: true, args: JSON.parse(argsJson) },
    },
    browserPoolOptions: {
      maxOpenPagesPerBrowser: tabs,
      ...(process.env.FINGERPRINTS === '0' ? { useFingerprints: false } : {}),
    },
    preNavigationHooks: [
      async ({ blockRequests }) => {
        await blockRequests({ extraUrlPatterns: EXTRA_BLOCKED });
      },
    ],
    async requestHandler({ page, request, enqueueLinks, pushData }) {
      if (wait === 'networkidle') await page.waitForLoadState('networkidle');
      else await page.waitForSelector('#app a');
      await pushData({
        url: request.loadedUrl ?? request.url,
        title: await page.title(),
        links: await page.$$eval('a[href]', (as) => as.length),
      });
      // Default strategy 'same-hostname', default selector 'a': every link on the same host.
      await enqueueLinks();
    },
  },
  config,
);

const stats = await crawler.run([url]);
const data = await crawler.getData();
writeFileSync(itemsFile, data.items.map((i) => `${JSON.stringify(i)}\n`).join(''));
process.stdout.write(
  `${JSON.stringify({
    items: data.items.length,
    requestsFinished: stats.requestsFinished,
    requestsFailed: stats.requestsFailed,
    requestsRetries: stats.requestsRetries,
  })}\n`,
);
