import { decodeText } from '../fetch/decode.js';
import { hostKey } from '../url/normalize.js';
import { createScope, type ScopeOptions } from '../url/scope.js';
import { checkTraps, type TrapOptions } from '../url/traps.js';
import { extractPage, type ParsedPage } from './extract.js';
import { extractFields, parseFieldSpecs } from './fields.js';

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
}

/**
 * What a parse returns. Shaped for a cheap trip back from a parse thread: one string and a few
 * small arrays instead of dozens of strings (structured clone costs per object).
 */
export interface ParseOutput extends Omit<ParsedPage, 'links'> {
  /** Every distinct link on the page (normalized, absolute), joined with '\n' (URLs never hold one). */
  links: string;
  /** Indexes (into the split `links`) of the links to follow: in scope, not nofollow, not a trap, within depth. */
  follow: number[];
  /** The distinct `hostKey`s of the followed links. */
  hosts: string[];
  /** For each `follow` entry, its host's index in `hosts`. */
  followHost: number[];
  fields: Record<string, unknown> | null;
  /** The decoded HTML when `keepHtml` was set. */
  html: string | null;
  /** Time spent decoding and parsing, ms. */
  parseMs: number;
}

/**
 * Builds the page parser for a crawl: decode (BOM, Content-Type charset, `<meta charset>`),
 * extract title, description, canonical, base, robots meta and links (resolved, normalized,
 * deduplicated), the user's CSS fields, and the followable links with their politeness keys.
 * Pure and synchronous, so it runs the same on the main thread and on a parse thread; doing the
 * link filtering here keeps that per-link work off the main thread.
 */
export function createParser(config: ParseConfig): (job: ParseJob) => ParseOutput {
  const scope = createScope(config.scope);
  const specs = config.fields.length > 0 ? parseFieldSpecs(config.fields) : null;
  const normalize = { stripParams: config.stripParams, stripSessionIds: config.stripSessionIds === true };
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
      title: page.title,
      description: page.description,
      canonical: page.canonical,
      baseHref: page.baseHref,
      robots: page.robots,
      links: links.join('\n'),
      follow,
      hosts,
      followHost,
      fields: specs ? extractFields(text, specs) : null,
      html: config.keepHtml ? text : null,
      parseMs: performance.now() - start,
    };
  };
}
