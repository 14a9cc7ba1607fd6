import type { Page } from 'playwright-core';
import { bodyHash } from '../fetch/body-hash.js';
import { decodeText } from '../fetch/decode.js';
import type { Item } from '../record.js';
import type { NormalizeOptions } from '../url/normalize.js';
import { hostKey } from '../url/normalize.js';
import { createScope, type Scope, type ScopeOptions } from '../url/scope.js';
import { checkTraps, type TrapOptions } from '../url/traps.js';
import type { EnqueuedRequest } from './enqueue.js';
import { extractPage, type ParsedPage } from './extract.js';
import { extractFields, type FieldSpec, parseFieldSpecs } from './fields.js';
import type { HandlerRunner } from './handler-run.js';
import type { HandlerCookie } from './scraper.js';

export type { EnqueuedRequest } from './enqueue.js';

/** How every page of a crawl is read; sent to each parse thread once. */
export interface ParseConfig {
  stripParams: string[];
  /** Remove session ids from links (normalize.ts stripSessionIds); absent = false. */
  stripSessionIds?: boolean;
  /** `name=css-selector[@attr]` specs; empty for none. */
  fields: string[];
  /** Which links are followed (the crawl's scope). */
  scope: ScopeOptions;
  traps: TrapOptions;
  /** Links of a page at this depth are not followed. */
  maxDepth: number;
  /** Return the decoded HTML too (for the library's extract() hook, which runs on the main thread). */
  keepHtml: boolean;
  /**
   * Absolute path of the crawl's scraper module, or null (absent) for a plain crawl. With one,
   * pages go to its handlers and only what they enqueue is followed (`follow` is empty).
   */
  scraper?: string | null;
  /** How long a handler may run on one page before it fails (retryably); absent = 60 s. */
  handlerTimeoutMs?: number;
  /** Also hash each body (ParseOutput.bodyHash) for the state's recrawl check; absent = false. */
  hashBodies?: boolean;
}

/** The request behind a page of a scraper crawl, as its handler sees it (ParseJob.page). */
export interface ScraperPage {
  /** The URL as requested (before redirects). */
  requestUrl: string;
  /** Its frontier key when not the URL. */
  key?: string;
  /** Handler label; null = `default`. */
  label: string | null;
  userData: Record<string, unknown>;
  /** HTTP method, upper case. */
  method: string;
  /** The page that enqueued it; null for a start URL. */
  referrer: string | null;
  status: number;
  /** Response headers, names lower case. */
  headers: Record<string, string>;
  /** The session the page was fetched with, and its cookies for the final URL. */
  session?: { id: string; cookies: HandlerCookie[] };
}

/** One page to parse: the raw body bytes (moved, not copied, to a parse thread). */
export interface ParseJob {
  body: Uint8Array;
  /** `type/subtype` of the response. */
  mime: string | null;
  /** The charset named by Content-Type, if any. */
  charset: string | null;
  /** The URL the body came from (after redirects): links resolve against it. */
  url: string;
  /** The page's link depth. */
  depth: number;
  /** Set by the engine only for scraper crawls: the request, for the handler's context. */
  page?: ScraperPage;
  /**
   * The page still open in Chromium (`--render` with a scraper whose handlers run on the main
   * thread, `parsers: 0`): the handler's `page`. Never set for a parse thread (it cannot cross).
   */
  browserPage?: Page;
}

/**
 * What a parse returns. Shaped for a cheap trip back from a parse thread: one string and a few
 * small arrays instead of dozens of strings (structured clone costs per object).
 */
export interface ParseOutput extends Omit<ParsedPage, 'links'> {
  /** Every distinct link on the page (normalized, absolute), joined with '\n' (URLs never hold one). */
  links: string;
  /**
   * What to follow, in order. An entry i ≥ 0 is the link at index i of the split `links` (a plain
   * crawl: in scope, not nofollow, not a trap, within depth; a scraper crawl: a plain GET the
   * handler enqueued that is also a link of the page); an entry -k is `requests[k - 1]`.
   * (Indexes into one string cross a thread far cheaper than an object per link.)
   */
  follow: number[];
  /** The distinct `hostKey`s of the followed links. */
  hosts: string[];
  /** For each `follow` entry, its host's index in `hosts`. */
  followHost: number[];
  fields: Record<string, unknown> | null;
  /** The decoded HTML when `keepHtml` was set. */
  html: string | null;
  /** Time spent decoding and parsing (and running the scraper's handler), ms. */
  parseMs: number;
  /** Scraper crawls: the items the handler pushed, in order (empty when it failed); null otherwise. */
  items: Item[] | null;
  /**
   * Scraper crawls: what the handler enqueued (filtered) that `follow` cannot name by a link
   * index — a request with a method, headers, body, label, userData or uniqueKey, or a URL that is
   * not a link of the page; empty when the handler failed. Null for a plain crawl.
   */
  requests: EnqueuedRequest[] | null;
  /** `handler: <message>` when the handler failed (or there is none for the label); else null. */
  handlerError: string | null;
  /** Whether a handler error may go away on a new fetch (false when there is none). */
  handlerRetryable: boolean;
  /** Why the handler retired the page's session (`session.retire()`), or null. */
  retireSession?: string | null;
  /** With ParseConfig.hashBodies: the body's {@link bodyHash}, computed here, off the main thread. */
  bodyHash?: string;
}

/** A page parser: synchronous for a plain crawl, async when a scraper's handlers run. */
export type Parser = (job: ParseJob) => ParseOutput | Promise<ParseOutput>;

/**
 * Builds the page parser for a crawl: decode (BOM, Content-Type charset, `<meta charset>`),
 * extract title, description, canonical, base, robots meta and links (resolved, normalized,
 * deduplicated), the user's CSS fields, and the followable links with their politeness keys.
 * Without a scraper it is pure and synchronous, so it runs the same on the main thread and on a
 * parse thread; doing the link filtering here keeps that per-link work off the main thread.
 *
 * With `config.scraper`, the returned parser is async: it starts importing the scraper module
 * (and cheerio) at once, in this thread, and each page then also runs its handler (see
 * createHandlerRunner): `follow`/`hosts`/`followHost` name what the handler enqueued, and
 * only that (see ParseOutput.follow), `items`, `requests`, `handlerError` and `handlerRetryable`
 * are set. Every job
 * rejects with the loader's one-line message if the scraper cannot be loaded.
 */
export function createParser(config: ParseConfig): Parser {
  const scope = createScope(config.scope);
  const specs = config.fields.length > 0 ? parseFieldSpecs(config.fields) : null;
  const normalize = { stripParams: config.stripParams, stripSessionIds: config.stripSessionIds === true };
  const parser: Parser =
    config.scraper != null
      ? scraperParser(config, scope, specs, normalize)
      : plainParser(config, scope, specs, normalize);
  if (config.hashBodies !== true) return parser;
  return (job) => {
    const hash = bodyHash(job.body); // before parsing: a parse thread may not keep the bytes
    const out = parser(job);
    if (out instanceof Promise)
      return out.then((o) => {
        o.bodyHash = hash;
        return o;
      });
    out.bodyHash = hash;
    return out;
  };
}

/** The parser of a plain crawl (no scraper): synchronous and pure (see createParser). */
function plainParser(
  config: ParseConfig,
  scope: Scope,
  specs: FieldSpec[] | null,
  normalize: NormalizeOptions,
): Parser {
  return (job) => {
    const start = performance.now();
    const { text } = decodeText(job.body, { mime: job.mime, headerCharset: job.charset });
    const page = extractPage(text, job.url, { normalize });
    const links: string[] = [];
    const follow: number[] = [];
    const hosts: string[] = [];
    const followHost: number[] = [];
    const canFollow = !page.robots.nofollow && job.depth + 1 <= config.maxDepth;
    for (const link of page.links) {
      links.push(link.url);
      if (!canFollow || link.nofollow || !scope.inScope(link.url) || checkTraps(link.url, config.traps))
        continue;
      follow.push(links.length - 1);
      const host = hostKey(link.url);
      let h = hosts.indexOf(host);
      if (h < 0) h = hosts.push(host) - 1;
      followHost.push(h);
    }
    return {
      ...pageHead(page, text, specs, config.keepHtml),
      links: links.join('\n'),
      follow,
      hosts,
      followHost,
      parseMs: performance.now() - start,
      items: null,
      requests: null,
      handlerError: null,
      handlerRetryable: false,
    };
  };
}

/**
 * The part of a ParseOutput that both parsers fill the same way: the page's title, description,
 * canonical, base and robots meta as extracted, the user's CSS fields (null without specs) and
 * the decoded HTML (null unless `keepHtml`).
 */
function pageHead(
  page: ParsedPage,
  text: string,
  specs: FieldSpec[] | null,
  keepHtml: boolean,
): Omit<ParsedPage, 'links'> & Pick<ParseOutput, 'fields' | 'html'> {
  return {
    title: page.title,
    description: page.description,
    canonical: page.canonical,
    baseHref: page.baseHref,
    robots: page.robots,
    fields: specs ? extractFields(text, specs) : null,
    html: keepHtml ? text : null,
  };
}

function scraperParser(
  config: ParseConfig,
  scope: Scope,
  specs: FieldSpec[] | null,
  normalize: NormalizeOptions,
): Parser {
  // Imported here, not at the top: a plain crawl never loads the handler runtime or cheerio.
  const runner: Promise<HandlerRunner> = import('./handler-run.js').then((m) =>
    m.loadHandlerRunner(config.scraper!, config, scope),
  );
  runner.catch(() => {}); // each job reports the failure; this only avoids an unhandled rejection
  return async (job) => {
    const run = await runner;
    const start = performance.now();
    const { text } = decodeText(job.body, { mime: job.mime, headerCharset: job.charset });
    const resolved = new Map<string, string | null>();
    const page = extractPage(text, job.url, { normalize, resolved, document: run.wantsDocument(job) });
    const links = page.links.map((l) => l.url);
    const head = pageHead(page, text, specs, config.keepHtml);
    const r = await run(job, text, page.baseHref, resolved, page.document);
    const packed = packRequests(r.requests, links);
    // Built field by field so every page's result has one shape (one hidden class for the
    // structured clone back to the engine) and no spread copies on the hot path.
    return {
      title: head.title,
      description: head.description,
      canonical: head.canonical,
      baseHref: head.baseHref,
      robots: head.robots,
      fields: head.fields,
      html: head.html,
      links: links.join('\n'),
      follow: packed.follow,
      hosts: packed.hosts,
      followHost: packed.followHost,
      requests: packed.requests,
      parseMs: performance.now() - start,
      items: r.items,
      handlerError: r.handlerError,
      handlerRetryable: r.handlerRetryable,
      retireSession: r.retireSession,
    };
  };
}

/**
 * Packs a handler's requests for the trip to the engine: a plain GET of one of the page's
 * `links` becomes that link's index in `follow`; any other request stays an object in
 * `requests`, named in `follow` by -(its position + 1). Order is kept.
 */
function packRequests(
  list: readonly EnqueuedRequest[],
  links: readonly string[],
): Pick<ParseOutput, 'follow' | 'hosts' | 'followHost' | 'requests'> {
  const follow: number[] = [];
  const hosts: string[] = [];
  const followHost: number[] = [];
  const requests: EnqueuedRequest[] = [];
  if (list.length === 0) return { follow, hosts, followHost, requests };
  const index = new Map<string, number>();
  for (let i = 0; i < links.length; i++) index.set(links[i]!, i);
  for (const r of list) {
    const at = r.key === undefined && r.request === undefined ? index.get(r.url) : undefined;
    if (at !== undefined) {
      follow.push(at);
    } else {
      requests.push(r);
      follow.push(-requests.length);
    }
    let h = hosts.indexOf(r.host);
    if (h < 0) h = hosts.push(r.host) - 1;
    followHost.push(h);
  }
  return { follow, hosts, followHost, requests };
}
