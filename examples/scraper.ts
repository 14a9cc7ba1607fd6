/**
 * The seed's assignment skeleton, "Concurrent Web Scraper Structure": 5 workers reading a job
 * channel, a token bucket (`rate.NewLimiter(10, 5)`) each request waits on, a 5 s timeout per
 * fetch, and the close-jobs / wait / close-results shutdown. The Go skeleton leaves `s.fetch`
 * out; here it is a stand-in that "downloads" from a table after a delay, honouring the
 * timeout's signal (the real crawler, `trawl crawl`, is this structure grown up).
 *
 * Which worker takes which URL is up to Go's scheduler; here workers are served FIFO, so it is
 * always workers 0, 1, 2, and results come in order of their (simulated) download times.
 *
 *   npx tsx examples/scraper.ts
 */
import { Channel, Limiter, sleep, WaitGroup, withTimeout } from '../src/conc/index.js';
import { clock, run } from './support/clock.js';

interface UrlJob {
  address: string;
  depth: number;
}

interface FetchedContent {
  title: string;
  links: string[];
}

interface ParsedData {
  url: string;
  title: string;
  links: string[];
}

/** What the stand-in fetch serves: page, download time in ms. */
const SITE: Record<string, [FetchedContent, number]> = {
  'https://example.com': [{ title: 'Example Domain', links: ['https://www.iana.org/domains/example'] }, 120],
  'https://example.org': [{ title: 'Example Domain', links: ['https://www.iana.org/domains/example'] }, 80],
  'https://httpbin.org/delay/1': [{ title: 'httpbin.org', links: [] }, 1000],
};

class Scraper {
  readonly limiter: Limiter;
  readonly jobs = new Channel<UrlJob>(100);
  readonly results = new Channel<ParsedData>(100);
  readonly #wg = new WaitGroup();

  constructor(
    readonly workerCount: number,
    rateLimit: number,
    burst: number,
  ) {
    this.limiter = new Limiter(rateLimit, burst, clock);
  }

  start(signal: AbortSignal): void {
    for (let i = 0; i < this.workerCount; i++) this.#wg.go(() => this.#worker(signal, i));
  }

  async #worker(signal: AbortSignal, id: number): Promise<void> {
    try {
      for await (const job of this.jobs.range(signal)) {
        // Rate limiting
        try {
          await this.limiter.wait(signal);
        } catch (err) {
          console.log(`Rate limit error: ${String(err)}`);
          continue;
        }

        console.log(`Worker ${id}: Scraping ${job.address}`);

        // Fetch with a timeout
        const fetchCtx = withTimeout(signal, 5000, clock);
        let content: FetchedContent;
        try {
          content = await this.#fetch(fetchCtx.signal, job.address);
        } catch (err) {
          console.log(`Error scraping ${job.address}: ${String(err)}`);
          continue;
        } finally {
          fetchCtx.cancel();
        }

        await this.results.send({ url: job.address, title: content.title, links: content.links });
      }
    } catch {
      // the context is done: stop, as Go's `case <-ctx.Done(): return`
    }
  }

  async #fetch(signal: AbortSignal, address: string): Promise<FetchedContent> {
    const page = SITE[address];
    if (page === undefined) throw new Error('404 Not Found');
    await sleep(page[1], signal, clock);
    return page[0];
  }

  async shutdown(): Promise<void> {
    this.jobs.close();
    await this.#wg.wait();
    this.results.close();
  }
}

await run(async () => {
  const { signal, cancel } = withTimeout(undefined, 30_000, clock);
  try {
    // Create scraper: 5 workers, 10 req/sec, burst of 5
    const scraper = new Scraper(5, 10, 5);
    scraper.start(signal);

    // Submit URLs
    const urls = ['https://example.com', 'https://example.org', 'https://httpbin.org/delay/1'];
    void (async () => {
      for (const url of urls) await scraper.jobs.send({ address: url, depth: 0 });
      await scraper.shutdown();
    })();

    // Collect results
    for await (const result of scraper.results) {
      console.log(`✓ Scraped: ${result.url} - Title: ${result.title}, Links: ${result.links.length}`);
    }
  } finally {
    cancel();
  }
});
