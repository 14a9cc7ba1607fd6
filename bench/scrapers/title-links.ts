/**
 * The scraper of `npm run bench:scraper` (issue 11's performance target): on every page, push
 * `{ url, title, h1, links }` read with `$` (`links` = the number of `<a href>` on the page) and
 * enqueue every link. bench/scraper/crawlee-cheerio.mjs runs the same handler in Crawlee's
 * CheerioCrawler; the crawl's rules (scope `host`, the default) keep the links on the same host,
 * as Crawlee's default `same-hostname` strategy does.
 *
 *   trawl run bench/scrapers/title-links.ts http://127.0.0.1:PORT/ --items items.jsonl
 */
import { defineScraper } from 'trawl';

export default defineScraper({
  handlers: {
    default: async ({ $, response, push, enqueue }) => {
      push({
        url: response.url,
        title: $('title').text(),
        h1: $('h1').text(),
        links: $('a[href]').length,
      });
      await enqueue({ selector: 'a[href]' });
    },
  },
});
