// Serves the recrawl benchmark site in its own process: the crawl benchmark's site (~20 KB pages,
// ~20 links) with ETag/Last-Modified/304 and generations in which 5 % of the pages change. Prints
// its URL on stdout; each line `advance` on stdin moves it to the next generation and answers with
// the diff's counts as one JSON line. Args: pages linksPerPage pageBytes.
import { createInterface } from 'node:readline';
import { startTestSite } from '../../src/testsite/server.js';

const [pages = '20000', links = '20', bytes = '20000'] = process.argv.slice(2);
const site = await startTestSite({
  pages: Number(pages),
  linksPerPage: Number(links),
  pageBytes: Number(bytes),
  recordTimes: false,
  recrawl: { changeFraction: 0.05, goneFraction: 0, growFraction: 0 },
});
process.stdout.write(`${site.url}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'advance') return;
  const d = site.advance();
  process.stdout.write(`${JSON.stringify({ generation: d.generation, changed: d.changed.length })}\n`);
});
process.on('SIGTERM', () => void site.close().then(() => process.exit(0)));
