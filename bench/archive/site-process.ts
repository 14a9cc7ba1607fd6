// Serves the recrawl benchmark site in its own process: the crawl benchmark's site (~20 KB pages,
// ~20 links) with ETag/Last-Modified/304 and generations in which 5 % of the pages change. Prints
// its URL on stdout; each line `advance` on stdin moves it to the next generation and answers with
// the diff's counts as one JSON line. Args: pages linksPerPage pageBytes [net]: with a network
// model (net-link.ts parseNet, e.g. `20ms,100mbit`) the URL printed is a relay's that paces and
// delays every response; without (or `off`) it is the site's own.
import { createInterface } from 'node:readline';
import { startTestSite } from '../../src/testsite/server.js';
import { parseNet, startLink } from './net-link.js';

const [pages = '20000', links = '20', bytes = '20000', net = 'off'] = process.argv.slice(2);
const site = await startTestSite({
  pages: Number(pages),
  linksPerPage: Number(links),
  pageBytes: Number(bytes),
  recordTimes: false,
  recrawl: { changeFraction: 0.05, goneFraction: 0, growFraction: 0 },
});
const model = parseNet(net);
const link = model === null ? null : await startLink(site.url, model);
process.stdout.write(`${link === null ? site.url : `${link.origin}/`}\n`);
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'advance') return;
  const d = site.advance();
  process.stdout.write(`${JSON.stringify({ generation: d.generation, changed: d.changed.length })}\n`);
});
process.on('SIGTERM', () => void Promise.all([link?.close(), site.close()]).then(() => process.exit(0)));
