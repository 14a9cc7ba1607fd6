import { type CheerioAPI, load } from 'cheerio';
import { createAgent } from '../crawl/fetch/agent.js';
import { fetchPage } from '../crawl/fetch/fetch-page.js';

/** How `trawl shell` fetches: the crawl's settings that shape one request. */
export interface ShellFetchOptions {
  userAgent: string;
  /** Deadline for the whole fetch (every redirect hop, headers and body), ms. */
  timeoutMs: number;
  /** Body cap after decompression, bytes. */
  maxBytes: number;
  /** Extra request headers (override the defaults). */
  headers: Record<string, string>;
  /** Connect to private/loopback addresses even when the URL's own host is not on one. */
  allowPrivate: boolean;
}

/** One fetched page, as the shell binds it: what a scraper's handler would see. */
export interface ShellPage {
  request: { url: string; method: string };
  /** `url` after redirects; headers with lower-case names. */
  response: { url: string; status: number; headers: Record<string, string> };
  /** The body decoded as the crawl decodes it (decode.ts), or '' for a body that is not text. */
  html: string;
  /** cheerio loaded with `html`, relative URLs resolving against `response.url`. */
  $: CheerioAPI;
  /** Decompressed body bytes. */
  bytes: number;
  /** Lower-case `type/subtype`, or null. */
  mime: string | null;
}

/**
 * Fetches `url` the way a crawl seeded with it would fetch it: through the crawl's HTTP agent
 * (createAgent, with the SSRF guard seeded with `url` — so the URL's own address class is allowed,
 * as for a crawl's seed, and a redirect to another private address is refused unless
 * `allowPrivate`), fetchPage with the crawl's default headers, User-Agent, timeout and body cap,
 * redirects followed, and the body decoded by decode.ts. Politeness, rate limits and robots.txt
 * do not apply (one page, asked for by hand). Unlike the crawl it keeps the body of an error
 * status (a 404 page can be looked at too). Each call has its own agent, closed before it
 * returns, so nothing stays open between pages. Rejects with fetchPage's FetchError (`<kind>:
 * <detail>`) when no response came.
 */
export async function fetchShellPage(url: string, opts: ShellFetchOptions): Promise<ShellPage> {
  const agent = createAgent({
    maxConnections: 1,
    connectTimeoutMs: Math.max(1, Math.round(opts.timeoutMs)),
    ssrf: { allowPrivate: opts.allowPrivate, seeds: [url] },
  });
  try {
    const res = await fetchPage(url, {
      dispatcher: agent,
      timeoutMs: opts.timeoutMs,
      maxBytes: opts.maxBytes,
      userAgent: opts.userAgent,
      headers: opts.headers,
      readErrorBodies: true,
    });
    const html = res.text ?? '';
    return {
      request: { url, method: 'GET' },
      response: { url: res.finalUrl, status: res.status, headers: res.headers },
      html,
      $: load(html, { baseURI: res.finalUrl }),
      bytes: res.bytes,
      mime: res.mime,
    };
  } finally {
    await agent.close();
  }
}
