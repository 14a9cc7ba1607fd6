/**
 * Single-pass extraction of what the crawler needs from an HTML page — title, meta description,
 * canonical, `<base>`, meta robots and outgoing links — straight from htmlparser2's tokenizer,
 * without building a DOM or even an element stack, so time is linear in the input and memory is
 * bounded by the (capped) results.
 */
import type { Document } from 'domhandler';
import {
  DomHandler,
  Parser,
  type ParserOptions,
  type QuoteType,
  Tokenizer,
  type TokenizerCallbacks,
} from 'htmlparser2';
import { LinkResolver } from '../url/link-resolver.js';
import type { NormalizeOptions } from '../url/normalize.js';
import { stripAndCollapse, stripAscii } from './ascii-whitespace.js';

/** Options of {@link extractPage}. */
export interface ExtractOptions {
  /** Passed to normalizeUrl for every link and the canonical URL. */
  normalize?: NormalizeOptions;
  /**
   * Most distinct links returned; further new links are ignored (first occurrences win).
   * Default 10_000. `Infinity` disables the cap.
   */
  maxLinks?: number;
  /**
   * Also honour `<meta name="<token>" content="…">` (case-insensitive) as robots directives,
   * e.g. `trawl` or `googlebot`, besides `<meta name="robots">`.
   */
  userAgentToken?: string;
  /**
   * Filled with every link value resolved (the raw attribute value → its normalized URL, or null
   * when unusable), all against the page's final base (`baseHref`, else `pageUrl`). A scraper's
   * `enqueue` looks its selector's values up here instead of resolving them a second time.
   */
  resolved?: Map<string, string | null>;
  /**
   * Also build the page's DOM (domhandler's `Document`, exactly what htmlparser2's
   * `parseDocument(html)` builds: cheerio's htmlparser2 mode) in the same tokenizer pass, and
   * return it as `document`. A scraper whose handler uses `$` would otherwise tokenize each page
   * twice (measured: the tokenizer is a third of a scraper's parse thread; bench:scraper).
   */
  document?: boolean;
}

/** One outgoing link. */
export interface PageLink {
  /** Absolute, normalized http(s) URL. */
  url: string;
  /** True when every element linking to this URL carries `rel~=nofollow`. */
  nofollow: boolean;
}

/** What {@link extractPage} finds on a page. */
export interface ParsedPage {
  title: string | null;
  description: string | null;
  canonical: string | null;
  baseHref: string | null;
  robots: { noindex: boolean; nofollow: boolean };
  links: PageLink[];
}

/** What {@link extractPage} returns: the page's facts, and its DOM when asked for. */
export interface ExtractedPage extends ParsedPage {
  /** The DOM built in the same pass when `opts.document` was set; absent otherwise. */
  document?: Document;
}

/** Default of {@link ExtractOptions.maxLinks}. */
export const DEFAULT_MAX_LINKS = 10_000;
/** Longest title/description text kept before whitespace collapsing (hostile pages). */
const MAX_TEXT = 64 * 1024;

enum Tag {
  Other = 0,
  A = 1,
  Area = 2,
  Link = 3,
  Base = 4,
  Meta = 5,
  Title = 6,
  Foreign = 7, // svg, math
  Template = 8,
  RawText = 9, // iframe, noembed, noframes: content is text in browsers
  Plaintext = 10,
  Breakout = 11, // HTML start tags that end foreign content
}

const TAGS = new Map<string, Tag>([
  ['a', Tag.A],
  ['area', Tag.Area],
  ['link', Tag.Link],
  ['base', Tag.Base],
  ['meta', Tag.Meta],
  ['title', Tag.Title],
  ['svg', Tag.Foreign],
  ['math', Tag.Foreign],
  ['template', Tag.Template],
  ['iframe', Tag.RawText],
  ['noembed', Tag.RawText],
  ['noframes', Tag.RawText],
  ['plaintext', Tag.Plaintext],
]);
// HTML §13.2.6.5: these start tags pop out of SVG/MathML back to HTML.
for (const t of 'b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li listing menu nobr ol p pre ruby s small span strong strike sub sup table tt u ul var'.split(
  ' ',
)) {
  TAGS.set(t, Tag.Breakout);
}

/** Lower-case ASCII-whitespace-separated tokens of a `rel` attribute. */
function relTokens(rel: string | undefined): string[] {
  if (!rel) return [];
  return rel.toLowerCase().split(/[\t\n\f\r ]+/);
}

interface Attrs {
  href?: string;
  rel?: string;
  name?: string;
  content?: string;
  shadowrootmode?: string;
}

/**
 * Extracts title, description, canonical, base, robots directives and links from `html`, the
 * body of the page at `pageUrl`, in one streaming pass of htmlparser2's tokenizer (entities
 * decoded, tags and attribute names case-insensitive, first of duplicate attributes wins).
 *
 * - `title`: text of the first `<title>` outside SVG/MathML and `<template>`, with ASCII
 *   whitespace stripped and collapsed (as `document.title`; U+00A0, U+3000 and other non-ASCII
 *   spaces are kept); `""` for an empty title, null when
 *   there is none. Title content is raw text (RCDATA): tags inside it are text; an unclosed title
 *   runs to the end of the input. At most 64 KiB of raw title text is kept.
 * - `description`: `content` of the first `<meta name=description>` (name case-insensitive),
 *   ASCII whitespace stripped and collapsed as for the title; null when absent.
 * - `baseHref`: the first `<base>` with an `href`, resolved against `pageUrl` (null when absent or
 *   unresolvable). As in browsers it applies to every link of the page, also those before it.
 * - `canonical`: first `<link rel~=canonical href>`, resolved against the base and normalized;
 *   null when absent or not http(s).
 * - `robots`: from every `<meta name=robots>` (and `name=<opts.userAgentToken>`), comma-separated
 *   case-insensitive tokens; `none` means both `noindex` and `nofollow`.
 * - `links`: hrefs of `a`, `area` and `link` elements whose `rel` has `alternate`, `next` or `prev`
 *   (in SVG too), resolved against the base, normalized with `opts.normalize`, non-http(s) and
 *   unparseable ones dropped, deduplicated keeping first-occurrence order, at most
 *   `opts.maxLinks` (default 10_000). A link is `nofollow` when all elements pointing to that URL
 *   have `rel~=nofollow`. Content of `iframe`, `noembed`, `noframes`, `script`, `style`,
 *   `textarea`, `xmp`, comments, and everything after `<plaintext>` is text, not markup, as in
 *   browsers; `<noscript>` content is parsed (the page as seen without scripting).
 *   Until the `<base>` is known, raw hrefs wait in a list of at most 4×maxLinks distinct
 *   strings; further ones are dropped.
 * - `<template>`: its content is inert and not part of the document (browsers' `document.links`,
 *   `document.title` and `querySelectorAll` do not see it), so nothing inside it counts: no
 *   links, title, meta, base or canonical. The exception is a declarative shadow root
 *   (`<template shadowrootmode="open|closed">`), whose content the browser renders as part of
 *   the page: its links are kept (a title, meta, base or canonical in it still does not apply
 *   to the document). In SVG/MathML, `template` is an ordinary foreign element.
 *
 * Never throws on any `html`; an unparseable `pageUrl` only makes relative links (and a relative
 * base) unresolvable.
 */
export function extractPage(html: string, pageUrl: string, opts: ExtractOptions = {}): ExtractedPage {
  const maxLinks = opts.maxLinks ?? DEFAULT_MAX_LINKS;
  const pendingCap = maxLinks * 4;
  const norm = opts.normalize;
  const uaToken = opts.userAgentToken?.toLowerCase();

  let title: string | null = null;
  let titleDone = false;
  let inTitle = false;
  let description: string | null = null;
  let rawCanonical: string | null = null;
  let baseHref: string | null = null;
  let baseKnown = false;
  // An unparseable page URL resolves nothing relative; absolute links still count.
  const pageBase = URL.canParse(pageUrl) ? pageUrl : undefined;
  let base = pageBase;
  let noindex = false;
  let nofollow = false;

  const out = new Map<string, boolean>(); // normalized url -> nofollow
  const pending = new Map<string, boolean>(); // raw href -> nofollow, while the base is unknown

  let foreignDepth = 0;
  // Open HTML <template>s: any of them hides title/meta/base/canonical; an inert one (not a
  // declarative shadow root) also hides links. `templates` remembers which kind each one is.
  let templateDepth = 0;
  let inertDepth = 0;
  const templates: boolean[] = [];
  let rawTextEnd: string | null = null; // in iframe/noembed/noframes: ignore markup until its end tag
  let plaintext = false;

  let tag: Tag = Tag.Other;
  let tagName = '';
  let attrs: Attrs = {};
  let attrName: keyof Attrs | null = null;
  let attrValue = '';

  const resolved = opts.resolved;
  let resolver: LinkResolver | null = null; // for `base`, made when the first link needs it
  const addResolved = (raw: string, nf: boolean): void => {
    resolver ??= new LinkResolver(base, norm);
    const url = resolver.resolve(raw);
    resolved?.set(raw, url);
    if (url === null) return;
    const prev = out.get(url);
    if (prev === undefined) {
      if (out.size < maxLinks) out.set(url, nf);
    } else if (prev && !nf) {
      out.set(url, false);
    }
  };
  const addLink = (raw: string, nf: boolean): void => {
    if (baseKnown) {
      addResolved(raw, nf);
      return;
    }
    const prev = pending.get(raw);
    if (prev === undefined) {
      if (pending.size < pendingCap) pending.set(raw, nf);
    } else if (prev && !nf) {
      pending.set(raw, false);
    }
  };
  const fixBase = (): void => {
    baseKnown = true;
    for (const [raw, nf] of pending) addResolved(raw, nf);
    pending.clear();
  };

  const onOpen = (): void => {
    if (plaintext) return;
    if (rawTextEnd !== null) return;
    switch (tag) {
      case Tag.A:
      case Tag.Area:
        if (attrs.href !== undefined && inertDepth === 0)
          addLink(attrs.href, relTokens(attrs.rel).includes('nofollow'));
        return;
      case Tag.Link: {
        if (attrs.href === undefined || inertDepth > 0) return;
        const rels = relTokens(attrs.rel);
        if (rels.includes('alternate') || rels.includes('next') || rels.includes('prev')) {
          addLink(attrs.href, rels.includes('nofollow'));
        }
        if (rawCanonical === null && templateDepth === 0 && rels.includes('canonical'))
          rawCanonical = attrs.href;
        return;
      }
      case Tag.Base:
        if (!baseKnown && templateDepth === 0 && attrs.href !== undefined) {
          try {
            const u = new URL(attrs.href, pageBase);
            baseHref = u.href;
            base = u.href;
            resolver = null;
          } catch {
            // Unresolvable base: the document keeps its own URL as base (HTML "frozen base URL").
          }
          fixBase();
        }
        return;
      case Tag.Meta: {
        if (templateDepth > 0 || attrs.name === undefined) return;
        const name = stripAscii(attrs.name).toLowerCase();
        if (name === 'description') {
          if (description === null && attrs.content !== undefined) {
            description = stripAndCollapse(attrs.content.slice(0, MAX_TEXT));
          }
        } else if (name === 'robots' || (uaToken !== undefined && name === uaToken)) {
          for (const tok of (attrs.content ?? '').toLowerCase().split(',')) {
            const t = stripAscii(tok);
            if (t === 'noindex') noindex = true;
            else if (t === 'nofollow') nofollow = true;
            else if (t === 'none') noindex = nofollow = true;
          }
        }
        return;
      }
      case Tag.Title:
        if (!titleDone && foreignDepth === 0 && templateDepth === 0) {
          inTitle = true;
          title = '';
        }
        return;
      case Tag.Foreign:
        foreignDepth++;
        return;
      case Tag.Template: {
        if (foreignDepth > 0) return;
        const mode = attrs.shadowrootmode?.toLowerCase();
        const inert = mode !== 'open' && mode !== 'closed';
        templates.push(inert);
        templateDepth++;
        if (inert) inertDepth++;
        return;
      }
      case Tag.RawText:
        rawTextEnd = tagName;
        return;
      case Tag.Plaintext:
        plaintext = true;
        return;
      case Tag.Breakout:
        foreignDepth = 0;
        return;
    }
  };

  const endTitle = (): void => {
    if (inTitle) {
      inTitle = false;
      titleDone = true;
      title = stripAndCollapse(title!);
    }
  };

  const lowerName = (start: number, end: number): string => html.slice(start, end).toLowerCase();

  const callbacks: TokenizerCallbacks = {
    onopentagname(start, end) {
      tagName = lowerName(start, end);
      tag = TAGS.get(tagName) ?? Tag.Other;
      if (tag <= Tag.Meta ? tag >= Tag.A : tag === Tag.Template) attrs = {};
      attrName = null;
    },
    onattribname(start, end) {
      if (tag === Tag.Template) {
        attrName = lowerName(start, end) === 'shadowrootmode' ? 'shadowrootmode' : null;
        attrValue = '';
        return;
      }
      if (tag < Tag.A || tag > Tag.Meta) return;
      const n = lowerName(start, end);
      attrName = n === 'href' || n === 'rel' || n === 'name' || n === 'content' ? n : null;
      attrValue = '';
    },
    onattribdata(start, end) {
      if (attrName !== null) attrValue += html.slice(start, end);
    },
    onattribentity(cp) {
      if (attrName !== null) attrValue += String.fromCodePoint(cp);
    },
    onattribend() {
      if (attrName !== null && attrs[attrName] === undefined) attrs[attrName] = attrValue;
      attrName = null;
    },
    onopentagend() {
      onOpen();
    },
    onselfclosingtag() {
      // HTML ignores the self-closing flag on non-void elements; svg/math become empty
      // elements, though (foreign content honours it).
      if (tag === Tag.Foreign) return;
      onOpen();
    },
    onclosetag(start, end) {
      const name = lowerName(start, end);
      if (plaintext) return;
      if (rawTextEnd !== null) {
        if (name === rawTextEnd) rawTextEnd = null;
        return;
      }
      if (name === 'title') endTitle();
      else if (name === 'svg' || name === 'math') {
        if (foreignDepth > 0) foreignDepth--;
      } else if (name === 'template') {
        if (templateDepth > 0 && foreignDepth === 0) {
          templateDepth--;
          if (templates.pop()) inertDepth--;
        }
      }
    },
    ontext(start, end) {
      if (inTitle && title!.length < MAX_TEXT) title += html.slice(start, Math.min(end, start + MAX_TEXT));
    },
    ontextentity(cp) {
      if (inTitle && title!.length < MAX_TEXT) title += String.fromCodePoint(cp);
    },
    oncdata() {},
    oncomment() {},
    ondeclaration() {},
    onprocessinginstruction() {},
    onend() {
      endTitle();
    },
  };
  let document: Document | undefined;
  if (opts.document === true) {
    const dom = new DomHandler();
    const options: TeeOptions & ParserOptions = { Tokenizer: TeeTokenizer, teeTo: callbacks };
    new Parser(dom, options).end(html);
    document = dom.root;
  } else {
    const tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: true }, callbacks);
    tokenizer.write(html);
    tokenizer.end();
  }
  if (!baseKnown) fixBase();

  const links: PageLink[] = [];
  for (const [url, nf] of out) links.push({ url, nofollow: nf });
  const page: ExtractedPage = {
    title,
    description,
    canonical:
      rawCanonical === null ? null : (resolver ?? new LinkResolver(base, norm)).resolve(rawCanonical),
    baseHref,
    robots: { noindex, nofollow },
    links,
  };
  if (document !== undefined) page.document = document;
  return page;
}

type TokenizerOptions = ConstructorParameters<typeof Tokenizer>[0];

/** Parser options carrying the callbacks a {@link TeeTokenizer} also feeds. */
interface TeeOptions extends TokenizerOptions {
  teeTo: TokenizerCallbacks;
}

/**
 * htmlparser2 `Parser`'s tokenizer (its `Tokenizer` option), whose every event also goes to
 * `options.teeTo` (after the parser has seen it). The parser gets the same events in the same
 * order as from its own tokenizer, so the DOM it builds is the one `parseDocument` builds, and
 * `teeTo` gets what a bare Tokenizer over the same input would give it: htmlparser2's tokenizer
 * decides raw-text and RCDATA states by itself, never from its callbacks. One class for every
 * page (a class per page would cost V8 far more than the parse saves).
 */
class TeeTokenizer extends Tokenizer {
  constructor(options: TokenizerOptions, parser: TokenizerCallbacks) {
    super(options, new TeeCallbacks(parser, (options as TeeOptions).teeTo));
  }
}

/** Tokenizer callbacks that call `a`'s, then `b`'s. */
class TeeCallbacks implements TokenizerCallbacks {
  constructor(
    private readonly a: TokenizerCallbacks,
    private readonly b: TokenizerCallbacks,
  ) {}
  onattribdata(start: number, end: number): void {
    this.a.onattribdata(start, end);
    this.b.onattribdata(start, end);
  }
  onattribentity(cp: number): void {
    this.a.onattribentity(cp);
    this.b.onattribentity(cp);
  }
  onattribend(quote: QuoteType, end: number): void {
    this.a.onattribend(quote, end);
    this.b.onattribend(quote, end);
  }
  onattribname(start: number, end: number): void {
    this.a.onattribname(start, end);
    this.b.onattribname(start, end);
  }
  oncdata(start: number, end: number, offset: number): void {
    this.a.oncdata(start, end, offset);
    this.b.oncdata(start, end, offset);
  }
  onclosetag(start: number, end: number): void {
    this.a.onclosetag(start, end);
    this.b.onclosetag(start, end);
  }
  oncomment(start: number, end: number, offset: number): void {
    this.a.oncomment(start, end, offset);
    this.b.oncomment(start, end, offset);
  }
  ondeclaration(start: number, end: number): void {
    this.a.ondeclaration(start, end);
    this.b.ondeclaration(start, end);
  }
  onend(): void {
    this.a.onend();
    this.b.onend();
  }
  onopentagend(end: number): void {
    this.a.onopentagend(end);
    this.b.onopentagend(end);
  }
  onopentagname(start: number, end: number): void {
    this.a.onopentagname(start, end);
    this.b.onopentagname(start, end);
  }
  onprocessinginstruction(start: number, end: number): void {
    this.a.onprocessinginstruction(start, end);
    this.b.onprocessinginstruction(start, end);
  }
  onselfclosingtag(end: number): void {
    this.a.onselfclosingtag(end);
    this.b.onselfclosingtag(end);
  }
  ontext(start: number, end: number): void {
    this.a.ontext(start, end);
    this.b.ontext(start, end);
  }
  ontextentity(cp: number, end: number): void {
    this.a.ontextentity(cp, end);
    this.b.ontextentity(cp, end);
  }
}
