/**
 * The deterministic page graph of the generated test site: which pages exist, what each links
 * to, each page's BFS depth from `/`, and the exact bytes of each page. Pure (no I/O), so tests
 * can reason about a crawl's expected result without a server.
 */

/** Options for {@link buildSite}. */
export interface SiteOptions {
  /** Number of pages (page 0 is `/`, the others `/p/<id>`). Default 100; at least 1. */
  pages?: number;
  /** Links to other site pages per page (duplicates, external and odd links come on top). Default 10. */
  linksPerPage?: number;
  /** Approximate body size in bytes; pages are padded with lorem text up to it. Default 2048. */
  pageBytes?: number;
  /** PRNG seed: the same options give byte-identical pages. Default 1. */
  seed?: number;
  /** Extra links to put on the home page (fault endpoints, for demos). */
  homeExtraLinks?: readonly string[];
}

/** The generated site graph. Page ids are 0..pages-1. */
export interface Site {
  readonly pages: number;
  readonly linksPerPage: number;
  readonly pageBytes: number;
  readonly seed: number;
  /** Children per page in the spanning tree that guarantees reachability. */
  readonly branching: number;
  /** `depths[id]` is the BFS depth of page `id` from `/` over the site's links (page 0 is 0). */
  readonly depths: Int32Array;
  /** The deepest page's depth. */
  readonly maxDepth: number;
  /** The BFS depth of page `id`; throws RangeError for an id outside 0..pages-1. */
  depthOf(id: number): number;
  /** The URL path of page `id`: `/` for 0, `/p/<id>` otherwise. */
  pathOf(id: number): string;
  /** The page id a path names (`/`, `/p/<id>`, no query), or undefined if it names no page. */
  idOfPath(path: string): number | undefined;
  /** The distinct site page ids page `id` links to, in order of first appearance. */
  linksOf(id: number): number[];
  /** The hrefs exactly as written in page `id`'s HTML, in document order (with duplicates). */
  hrefsOf(id: number): string[];
  /** The full HTML of page `id` (UTF-8); deterministic for the site's options. */
  render(id: number): Buffer;
  /** Page ids whose depth is at most `depth`, ascending. */
  idsWithin(depth: number): number[];
}

/**
 * A 32-bit mixing hash (the finaliser of MurmurHash3 over a combined value), used to derive
 * every per-page random choice from `(seed, id, salt)` so any page can be generated alone.
 */
export function mix(seed: number, a: number, b = 0): number {
  let h = (seed ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A seeded PRNG (mulberry32): returns a function yielding uniform floats in [0, 1). The same
 * seed always gives the same sequence.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LOREM =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ' +
  'ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu ' +
  'fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt ' +
  'mollit anim id est laborum. ';

/**
 * Builds the site graph. Reachability and depths are by construction: page i's tree parent is
 * `floor((i-1)/b)` (a b-ary tree in id order, b = max(2, ceil(linksPerPage/2))), and every
 * further link of page i goes to a random page with id < b·i+1, whose tree depth is at most
 * depth(i)+1 — so extra links never shorten a path and BFS depth equals tree depth (the
 * depths are still computed by a real BFS over the links). Each page also carries a duplicate
 * link, a link with a fragment, a fragment-only link, two external links to example.invalid,
 * a mailto: and a javascript: link, with hrefs alternating between `/p/5`, `./5`, `../p/5`
 * and `5` forms. Bodies are padded with lorem text (a slice of one shared buffer, offset per
 * page) to about `pageBytes`.
 */
export function buildSite(opts: SiteOptions = {}): Site {
  const pages = Math.max(1, Math.floor(opts.pages ?? 100));
  const linksPerPage = Math.max(1, Math.floor(opts.linksPerPage ?? 10));
  const pageBytes = Math.max(0, Math.floor(opts.pageBytes ?? 2048));
  const seed = (opts.seed ?? 1) >>> 0;
  const branching = Math.max(2, Math.ceil(linksPerPage / 2));
  const homeExtra = opts.homeExtraLinks ?? [];

  const linksCache = new Map<number, number[]>();
  const targetsOf = (id: number): number[] => {
    let t = linksCache.get(id);
    if (t !== undefined) return t;
    t = [];
    const first = branching * id + 1;
    for (let c = first; c < Math.min(pages, first + branching); c++) t.push(c);
    const rand = prng(mix(seed, id, 1));
    const limit = Math.min(pages, first);
    while (t.length < linksPerPage) t.push(Math.floor(rand() * limit));
    if (linksCache.size < 4096) linksCache.set(id, t);
    return t;
  };

  const depths = new Int32Array(pages).fill(-1);
  depths[0] = 0;
  const queue = new Int32Array(pages);
  let head = 0;
  let tail = 1;
  let maxDepth = 0;
  while (head < tail) {
    const id = queue[head++]!;
    for (const t of targetsOf(id)) {
      if (depths[t] === -1) {
        depths[t] = depths[id]! + 1;
        maxDepth = Math.max(maxDepth, depths[t]!);
        queue[tail++] = t;
      }
    }
  }

  const pathOf = (id: number): string => (id === 0 ? '/' : `/p/${id}`);
  const hrefTo = (from: number, to: number, form: number): string => {
    if (to === 0) return form % 2 === 0 || from === 0 ? '/' : '../';
    switch (form % 4) {
      case 0:
        return `/p/${to}`;
      case 1:
        return from === 0 ? `./p/${to}` : `./${to}`;
      case 2:
        // From `/`, `..` cannot climb above the root, so this still resolves to /p/<to>.
        return `../p/${to}`;
      default:
        return from === 0 ? `p/${to}` : `${to}`;
    }
  };
  const hrefsOf = (id: number): string[] => {
    const targets = targetsOf(id);
    const hrefs = targets.map((t, j) => hrefTo(id, t, id + j));
    const r = mix(seed, id, 2);
    hrefs.push(hrefs[0]!); // duplicate
    hrefs.push(`${pathOf(targets[r % targets.length]!)}#section-${r % 7}`);
    hrefs.push('#top');
    hrefs.push(`http://example.invalid/p/${id}`, `https://www.example.invalid/about?from=${id}`);
    hrefs.push(`mailto:page${id}@example.invalid`, 'javascript:void(0)');
    if (id === 0) hrefs.push(...homeExtra);
    return hrefs;
  };

  const lorem = Buffer.from(LOREM.repeat(Math.ceil((pageBytes + 4096) / LOREM.length) + 1), 'utf8');
  const render = (id: number): Buffer => {
    if (!Number.isInteger(id) || id < 0 || id >= pages) throw new RangeError(`no page ${id}`);
    const links = hrefsOf(id)
      .map((h, j) => `<li><a href="${escapeHtml(h)}">link ${j}</a></li>`)
      .join('\n');
    const head = Buffer.from(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Page ${id}</title>\n` +
        `<meta name="description" content="Generated test page ${id} of ${pages}, depth ${depths[id]}.">\n` +
        `</head><body id="top"><h1>Page ${id}</h1>\n<nav><ul>\n${links}\n</ul></nav>\n<p id="section-0">`,
      'utf8',
    );
    const tailBuf = Buffer.from('</p>\n</body></html>\n', 'utf8');
    const pad = Math.max(0, pageBytes - head.length - tailBuf.length);
    const offset = pad === 0 ? 0 : mix(seed, id, 3) % (lorem.length - pad);
    return Buffer.concat([head, lorem.subarray(offset, offset + pad), tailBuf]);
  };

  return {
    pages,
    linksPerPage,
    pageBytes,
    seed,
    branching,
    depths,
    maxDepth,
    depthOf(id) {
      if (!Number.isInteger(id) || id < 0 || id >= pages) throw new RangeError(`no page ${id}`);
      return depths[id]!;
    },
    pathOf,
    idOfPath: (path) => pageIdOfPath(path, pages),
    linksOf: (id) => [...new Set(targetsOf(id))],
    hrefsOf,
    render,
    idsWithin(depth) {
      const out: number[] = [];
      for (let i = 0; i < pages; i++) if (depths[i]! <= depth) out.push(i);
      return out;
    },
  };
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page id a generated site's path names (`/` is 0, `/p/<id>` is id), or undefined for any
 * other path and for ids not below `pages`. The inverse of the sites' `pathOf`.
 */
export function pageIdOfPath(path: string, pages: number): number | undefined {
  if (path === '/') return 0;
  const m = /^\/p\/([1-9]\d*)$/.exec(path);
  if (m === null) return undefined;
  const id = Number(m[1]);
  return id < pages ? id : undefined;
}
