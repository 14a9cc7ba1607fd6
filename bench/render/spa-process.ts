// Serves the client-rendered test site (src/testsite/spa.ts) in its own process for
// bench/render.bench.ts, so its CPU is not the crawler's. Args: pages apiLatencyMs [mixed]
// (mixed: the fraction of pages served as app shells on a server-rendered site; absent: every
// page is a shell and the special pages are served).
//
// Prints one JSON line on stdout once listening — `{ url, description, pages: SpaPage[] }`, the
// site object's own list of what each page renders (path, title, links, kind, shell, lateLinks),
// from which the harness derives the pages a crawler must reach. Then it answers commands on
// stdin, one per line:
//   counts  → one JSON line `{ total, secretHits, pages: { path: requests } }` (page paths only:
//             `/api/`, `/static/`, `/robots.txt`, `/go/` and `/secret` requests are in `total`
//             alone), then the counters are reset for the next run.
import { createInterface } from 'node:readline';
import { startSpaSite } from '../../src/testsite/spa.js';

const [pages = '2000', latency = '20', mixed] = process.argv.slice(2);
const site = await startSpaSite({
  pages: Number(pages),
  apiLatencyMs: Number(latency),
  ...(mixed === undefined ? {} : { mixed: Number(mixed) }),
});
process.stdout.write(
  `${JSON.stringify({ url: site.url, description: site.describe(), pages: site.pages })}\n`,
);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'counts') return;
  const perPage: Record<string, number> = {};
  for (const [raw, n] of site.counts) {
    const path = new URL(raw, 'http://x').pathname;
    if (site.page(path) !== undefined) perPage[path] = (perPage[path] ?? 0) + n;
  }
  process.stdout.write(
    `${JSON.stringify({ total: site.total(), secretHits: site.secretHits(), pages: perPage })}\n`,
  );
  site.reset();
});
process.on('SIGTERM', () => void site.close().then(() => process.exit(0)));
