// Serves the benchmark test site in its own process (so its CPU isn't the crawler's) and prints
// its URL on stdout. Args: pages linksPerPage pageBytes [latencyMs]. With SITE_SET_COOKIE=1 in
// the environment every response also sets one cookie (bench/identity.bench.ts's cookie variants).
import { startTestSite } from '../../src/testsite/server.js';

const [pages = '20000', links = '20', bytes = '20000', latency = '0'] = process.argv.slice(2);
const site = await startTestSite({
  pages: Number(pages),
  linksPerPage: Number(links),
  pageBytes: Number(bytes),
  latencyMs: Number(latency),
  recordTimes: false,
  setCookieEveryResponse: process.env.SITE_SET_COOKIE === '1',
});
process.stdout.write(`${site.url}\n`);
process.on('SIGTERM', () => void site.close().then(() => process.exit(0)));
