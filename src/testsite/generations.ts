/**
 * Generations of the test site for recrawl tests: a run counter over the page graph of
 * {@link buildSite} that, at each step, removes a few pages (404 or 410), changes a few others
 * (new bytes, new ETag, later Last-Modified) and lets some changed pages link to brand-new
 * pages. Every choice is derived from (seed, generation, page id), so the same options and
 * generation number always give the same site, and the diffs say exactly what a recrawl must
 * find. Validators are derived from (site fingerprint, id, version), never by hashing bodies,
 * so serving them costs no more than serving the page.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isNotModified } from './conditional.js';
import { escapeHtml, mix, type Site } from './site.js';

/** Options of {@link Generations} (the test site's `recrawl` option). */
export interface GenerationOptions {
  /** The generation to start at (the site as it is after that many advances). Default 0. */
  generation?: number;
  /**
   * Fraction of the live pages (after this generation's removals) whose content changes in each
   * generation: exactly `round(changeFraction × live)` pages. Default 0.05.
   */
  changeFraction?: number;
  /**
   * Fraction of the live pages other than `/` that disappear in each generation: exactly
   * `round(goneFraction × (live − 1))` pages, alternately 404 and 410 in selection order.
   * Default 0.01.
   */
  goneFraction?: number;
  /**
   * Fraction of each generation's changed pages that gain a link to one new page: exactly
   * `round(growFraction × changed)` new pages per generation. Default 0.2.
   */
  growFraction?: number;
  /** Seed of the choices. Default the site's seed. */
  seed?: number;
}

/** What one generation did, relative to the one before. All lists are ascending page ids. */
export interface GenerationDiff {
  /** The generation this diff leads to (1 for the first advance). */
  readonly generation: number;
  /** Pages that still answer 200 but with new bytes, a new ETag and a later Last-Modified. */
  readonly changed: readonly number[];
  /** Pages that now answer 404 (and will from now on). */
  readonly gone404: readonly number[];
  /** Pages that now answer 410 (and will from now on). */
  readonly gone410: readonly number[];
  /** New pages (ids ≥ the site's page count), each linked from one page in `changed`. */
  readonly added: readonly number[];
}

/** What the site answers for one path, per {@link Generations.lookup}. */
export type VersionedPage =
  | { readonly kind: 'page'; readonly id: number; readonly etag: string; readonly lastModifiedMs: number }
  | { readonly kind: 'gone'; readonly id: number; readonly status: 404 | 410 };

const HTML = 'text/html; charset=utf-8';
const TAIL = Buffer.from('</body></html>\n', 'utf8');
const DAY_MS = 86_400_000;
/** Generation g ≥ 1 happened g hours after this instant (after every version-0 date). */
const GENERATION_EPOCH = Date.UTC(2025, 0, 1);
const HOUR_MS = 3_600_000;

/**
 * The changing site. Generation 0 is exactly the base site (same bytes as without generations),
 * with validators added. {@link advance} computes the next generation in O(pages · log pages).
 * Pages never come back once gone; a gone page's links stay in other pages (broken links, as on
 * the real web) and unchanged pages keep their bytes. `/` is never removed but may change.
 */
export class Generations {
  readonly site: Site;
  /** `history[g - 1]` is the diff of generation g. */
  readonly history: GenerationDiff[] = [];
  private readonly seed: number;
  private readonly changeFraction: number;
  private readonly goneFraction: number;
  private readonly growFraction: number;
  private readonly fingerprint: string;
  private gen = 0;
  /** Per id: generation of its current bytes (0 = the base page, or its birth for new pages). */
  private readonly version: number[] = [];
  /** Per id: 200 while live, then 404 or 410. */
  private readonly status: (200 | 404 | 410)[] = [];
  /** Per new id (index id − site.pages): the page that links to it, its birth and depth. */
  private readonly born: { parent: number; generation: number; depth: number }[] = [];
  /** New pages each page links to, in order of creation. */
  private readonly newLinks = new Map<number, number[]>();

  /**
   * Wraps `site` (whose bytes it must match: pass the same Site the server renders) and advances
   * to `opts.generation`. Fractions are clamped to [0, 1]; a negative or fractional start
   * generation is floored at 0.
   */
  constructor(site: Site, opts: GenerationOptions = {}) {
    this.site = site;
    const clamp = (x: number | undefined, d: number): number => Math.min(1, Math.max(0, x ?? d));
    this.seed = (opts.seed ?? site.seed) >>> 0;
    this.changeFraction = clamp(opts.changeFraction, 0.05);
    this.goneFraction = clamp(opts.goneFraction, 0.01);
    this.growFraction = clamp(opts.growFraction, 0.2);
    // One hash at construction over what determines every body (the home page carries any
    // extra links), so two differently built sites never share an ETag.
    this.fingerprint = createHash('sha1')
      .update(`${site.pages}/${site.linksPerPage}/${site.pageBytes}/${site.seed}/${this.seed}/`)
      .update(`${this.changeFraction}/${this.goneFraction}/${this.growFraction}/`)
      .update(site.render(0))
      .digest('hex')
      .slice(0, 10);
    for (let id = 0; id < site.pages; id++) {
      this.version.push(0);
      this.status.push(200);
    }
    const start = Math.max(0, Math.floor(opts.generation ?? 0));
    while (this.gen < start) this.advance();
  }

  /** The current generation (0 until the first advance). */
  get generation(): number {
    return this.gen;
  }

  /** Number of page ids that ever existed: ids 0..size-1 (base pages first, then new ones). */
  get size(): number {
    return this.version.length;
  }

  /** The diff that led to generation `g` (1..generation); throws RangeError otherwise. */
  diff(g: number): GenerationDiff {
    const d = this.history[g - 1];
    if (d === undefined) throw new RangeError(`no generation ${g}`);
    return d;
  }

  /**
   * Moves to the next generation and returns its diff. In order: removes
   * `round(goneFraction × (live − 1))` live pages other than `/` (404 and 410 alternating in
   * the seeded selection order), changes `round(changeFraction × live)` of the pages still live,
   * and gives `round(growFraction × changed)` of the changed pages one link each to a new page
   * (new ids ascending in the order of their linking page's id). Selections are the smallest
   * seeded keys `mix(mix(seed, generation, salt), id)`, so they are exact and repeatable.
   */
  advance(): GenerationDiff {
    const g = this.gen + 1;
    const live: number[] = [];
    for (let id = 0; id < this.status.length; id++) if (this.status[id] === 200) live.push(id);

    const goneOrder = this.pick(
      live.filter((id) => id !== 0),
      Math.round(this.goneFraction * (live.length - 1)),
      g,
      1,
    );
    const gone404: number[] = [];
    const gone410: number[] = [];
    goneOrder.forEach((id, i) => {
      const s = i % 2 === 0 ? 404 : 410;
      this.status[id] = s;
      (s === 404 ? gone404 : gone410).push(id);
    });

    const still = live.filter((id) => this.status[id] === 200);
    const changed = this.pick(still, Math.round(this.changeFraction * still.length), g, 2);
    const growers = this.pick(changed, Math.round(this.growFraction * changed.length), g, 3).sort(
      (a, b) => a - b,
    );
    for (const id of changed) this.version[id] = g;
    const added: number[] = [];
    for (const parent of growers) {
      const id = this.version.length;
      this.version.push(g);
      this.status.push(200);
      this.born.push({ parent, generation: g, depth: this.depthOf(parent) + 1 });
      const list = this.newLinks.get(parent) ?? [];
      list.push(id);
      this.newLinks.set(parent, list);
      added.push(id);
    }
    const byId = (a: number, b: number): number => a - b;
    const d: GenerationDiff = {
      generation: g,
      changed: changed.sort(byId),
      gone404: gone404.sort(byId),
      gone410: gone410.sort(byId),
      added,
    };
    this.gen = g;
    this.history.push(d);
    return d;
  }

  /** The `n` ids of `ids` with the smallest seeded keys for (generation, salt), in key order. */
  private pick(ids: readonly number[], n: number, g: number, salt: number): number[] {
    if (n <= 0) return [];
    const k = mix(this.seed, g, 100 + salt);
    const keyed = ids.map((id) => ({ id, key: mix(k, id, salt) }));
    keyed.sort((a, b) => a.key - b.key || a.id - b.id);
    return keyed.slice(0, n).map((x) => x.id);
  }

  /** Whether page `id` currently answers 200. False for ids that never existed. */
  isLive(id: number): boolean {
    return this.status[id] === 200;
  }

  /** The status page `id` answers now (200, 404 or 410), or undefined if it never existed. */
  statusOf(id: number): 200 | 404 | 410 | undefined {
    return this.status[id];
  }

  /** Ids answering 200 now, ascending. */
  liveIds(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.status.length; id++) if (this.status[id] === 200) out.push(id);
    return out;
  }

  /** The generation of page `id`'s current bytes (0 = unchanged base page). RangeError if unknown. */
  versionOf(id: number): number {
    const v = this.version[id];
    if (v === undefined) throw new RangeError(`no page ${id}`);
    return v;
  }

  /** URL path of page `id`: `/`, or `/p/<id>` for base and new pages alike. */
  pathOf(id: number): string {
    return id === 0 ? '/' : `/p/${id}`;
  }

  /** The id a path names if that page ever existed (live or gone), else undefined. */
  idOfPath(path: string): number | undefined {
    if (path === '/') return 0;
    const m = /^\/p\/([1-9]\d*)$/.exec(path);
    if (m === null) return undefined;
    const id = Number(m[1]);
    return id < this.version.length ? id : undefined;
  }

  /** Depth of page `id` from `/` along the tree that made it: the base BFS depth, or parent + 1. */
  depthOf(id: number): number {
    if (id < this.site.pages) return this.site.depthOf(id);
    const b = this.born[id - this.site.pages];
    if (b === undefined) throw new RangeError(`no page ${id}`);
    return b.depth;
  }

  /** The page that first linked to new page `id`, or undefined for a base page. */
  parentOf(id: number): number | undefined {
    return this.born[id - this.site.pages]?.parent;
  }

  /** Distinct page ids page `id` links to now (base links, then new pages in creation order). */
  linksOf(id: number): number[] {
    const base = id < this.site.pages ? this.site.linksOf(id) : [this.parentOf(id) ?? 0, 0];
    return [...new Set([...base, ...(this.newLinks.get(id) ?? [])])];
  }

  /**
   * The strong ETag of page `id`'s current bytes, e.g. `"3fa2c81b0e-17-2"` (fingerprint of the
   * site's options, id, version). Identical bytes always carry the same tag and vice versa.
   */
  etagOf(id: number): string {
    return `"${this.fingerprint}-${id}-${this.versionOf(id)}"`;
  }

  /**
   * Last modification of page `id`'s current bytes, ms since the epoch (whole seconds): for an
   * unchanged base page, the day of its sitemap `<lastmod>` in 2024; for a version g ≥ 1,
   * 2025-01-01T00:00Z plus g hours — always later than any earlier version.
   */
  lastModifiedOf(id: number): number {
    const v = this.versionOf(id);
    if (v === 0) return Date.UTC(2024, 0, 1) + (mix(this.site.seed, id, 5) % 365) * DAY_MS;
    return GENERATION_EPOCH + v * HOUR_MS;
  }

  /**
   * The sitemap `<lastmod>` of page `id`: `YYYY-MM-DD` for an unchanged base page (exactly the
   * site's original value), a W3C datetime at whole seconds otherwise.
   */
  lastmodText(id: number): string {
    const iso = new Date(this.lastModifiedOf(id)).toISOString();
    return this.versionOf(id) === 0 ? iso.slice(0, 10) : `${iso.slice(0, 19)}Z`;
  }

  /**
   * The full HTML of page `id` now (throws RangeError if it never existed; gone pages still
   * render their last bytes). An unchanged base page is exactly `site.render(id)`; a page
   * changed since its creation carries a revision section naming its version and linking to
   * the new pages it gained.
   */
  render(id: number): Buffer {
    const v = this.versionOf(id);
    const base = id < this.site.pages ? this.site.render(id) : this.renderNew(id);
    const birth = id < this.site.pages ? 0 : (this.born[id - this.site.pages]?.generation ?? 0);
    if (v === birth) return base;
    const links = (this.newLinks.get(id) ?? [])
      .map((n) => `<li><a href="${this.pathOf(n)}">new page ${n}</a></li>\n`)
      .join('');
    const block = Buffer.from(
      `<section id="revision"><p>Page ${id}, revision of generation ${v}.</p>\n<ul>\n${links}</ul></section>\n`,
      'utf8',
    );
    const cut = base.subarray(base.length - TAIL.length).equals(TAIL)
      ? base.length - TAIL.length
      : base.length;
    return Buffer.concat([base.subarray(0, cut), block, TAIL]);
  }

  /** Base bytes of a new page: a title, where it came from, links up and home. */
  private renderNew(id: number): Buffer {
    const b = this.born[id - this.site.pages]!;
    return Buffer.from(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Page ${id}</title>\n` +
        `</head><body id="top"><h1>Page ${id}</h1>\n<p>New in generation ${b.generation}, linked from page ${b.parent}.</p>\n` +
        `<nav><ul>\n<li><a href="${this.pathOf(b.parent)}">up</a></li>\n<li><a href="/">home</a></li>\n</ul></nav>\n` +
        '</body></html>\n',
      'utf8',
    );
  }

  /**
   * What `path` is now: a live page with its validators, a gone page with its status, or
   * undefined if the path never named a page (the server then goes on with its other routes).
   */
  lookup(path: string): VersionedPage | undefined {
    const id = this.idOfPath(path);
    if (id === undefined) return undefined;
    const s = this.status[id]!;
    if (s !== 200) return { kind: 'gone', id, status: s };
    return { kind: 'page', id, etag: this.etagOf(id), lastModifiedMs: this.lastModifiedOf(id) };
  }
}

/**
 * Answers a page path of the changing site, or returns false if `path` never named a page.
 * Gone pages get their 404/410 page through `deliver`; a live page gets `ETag` and
 * `Last-Modified`, and a GET/HEAD whose preconditions say unchanged (see {@link isNotModified})
 * gets `304 Not Modified` with only `ETag`, no body and no Content-Length (RFC 9110 §15.4.5);
 * anything else gets the page through `deliver` with both validators.
 */
export function serveVersioned(
  gens: Generations,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  deliver: (status: number, type: string, body: Buffer, headers?: Record<string, string>) => void,
): boolean {
  const p = gens.lookup(path);
  if (p === undefined) return false;
  if (p.kind === 'gone') {
    const text = p.status === 410 ? 'Gone' : `Not found: ${path}`;
    deliver(
      p.status,
      HTML,
      Buffer.from(
        `<!doctype html>\n<html><head><title>${p.status}</title></head><body><p>${escapeHtml(text)}</p></body></html>\n`,
      ),
    );
    return true;
  }
  if (
    (req.method === 'GET' || req.method === 'HEAD') &&
    isNotModified(req.headers, p.etag, p.lastModifiedMs)
  ) {
    res.writeHead(304, { etag: p.etag });
    res.end();
    return true;
  }
  deliver(200, HTML, gens.render(p.id), {
    etag: p.etag,
    'last-modified': new Date(p.lastModifiedMs).toUTCString(),
  });
  return true;
}
