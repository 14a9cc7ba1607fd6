/**
 * The deterministic page graph of the multi-host test site: N hosts on loopback addresses, each
 * with the same number of pages, links within and across hosts, each page's BFS depth from host
 * 0's `/`, and the exact bytes of each page. Pure (no I/O), so a test can know a broad crawl's
 * expected result without a server; multi-host.ts serves it.
 */
import { escapeHtml, mix, pageIdOfPath, prng } from './site.js';

/** Options for {@link buildMultiHostGraph}. */
export interface MultiHostGraphOptions {
  /** Number of hosts, at least 1 and at most {@link MAX_HOSTS}. */
  hosts: number;
  /** Pages per host (page 0 is `/`, the others `/p/<id>`). Default 20; at least 1. */
  pagesPerHost?: number;
  /** Link slots per page (tree links first, the rest random). Default 10; at least 1. */
  linksPerPage?: number;
  /**
   * Probability, in [0, 1], that a random link slot points at a page of another host (chosen
   * uniformly among the other hosts, page uniform on that host). Default 0.2. With one host
   * every slot stays on the host.
   */
  crossHostLinks?: number;
  /** Approximate body size in bytes; pages are padded with filler text up to it. Default 2048. */
  pageBytes?: number;
  /** PRNG seed: the same options give byte-identical pages. Default 1. */
  seed?: number;
}

/** One page of the graph: host index and page id on that host. */
export interface PageRef {
  readonly host: number;
  readonly id: number;
}

/** The generated multi-host graph. Hosts are 0..hosts-1, page ids 0..pagesPerHost-1. */
export interface MultiHostGraph {
  readonly hosts: number;
  readonly pagesPerHost: number;
  readonly linksPerPage: number;
  readonly crossHostLinks: number;
  readonly pageBytes: number;
  readonly seed: number;
  /** Children per page in the per-host tree, and child hosts per home page in the host tree. */
  readonly branching: number;
  /** hosts × pagesPerHost. */
  readonly totalPages: number;
  /** The loopback address of host `h` ({@link hostAddress}). */
  addressOf(host: number): string;
  /** The URL path of page `id`: `/` for 0, `/p/<id>` otherwise. */
  pathOf(id: number): string;
  /** The page id a path names (`/` or `/p/<id>`, no query), or undefined if it names no page. */
  idOfPath(path: string): number | undefined;
  /** The distinct pages page (host, id) links to, in order of first appearance. */
  linksOf(host: number, id: number): PageRef[];
  /** The hrefs exactly as written in page (host, id)'s HTML when served on `port`, in order. */
  hrefsOf(host: number, id: number, port: number): string[];
  /** The full HTML of page (host, id) served on `port` (UTF-8), deterministic for the options. */
  render(host: number, id: number, port: number): Buffer;
  /**
   * The BFS depth of page (host, id) from host 0's `/` over all links. The first call runs the
   * BFS over every page (lazily, so starting a large site stays fast). Throws RangeError for a
   * page outside the graph.
   */
  depthOf(host: number, id: number): number;
  /** The deepest page's depth (runs the BFS on first use, like depthOf). */
  maxDepth(): number;
}

/**
 * The most hosts the address scheme can name: 127.a.b.c with c in 1..254 (skipping .0 and
 * .255, which tools and SSRF guards may read as network or broadcast addresses), minus
 * 127.0.0.1, which the single-host site and other fixtures use.
 */
export const MAX_HOSTS = 256 * 256 * 254 - 1;

/**
 * The loopback address of host `h`: the (h+1)-th address of the sequence 127.0.0.1,
 * 127.0.0.2, …, 127.0.0.254, 127.0.1.1, …, 127.0.1.254, 127.0.2.1, … — so host 0 is
 * 127.0.0.2, host 252 is 127.0.0.254 and host 253 is 127.0.1.1. Linux routes all of
 * 127.0.0.0/8 to the loopback interface, so each can be bound without configuration. Throws
 * RangeError outside 0..MAX_HOSTS-1.
 */
export function hostAddress(h: number): string {
  if (!Number.isInteger(h) || h < 0 || h >= MAX_HOSTS) throw new RangeError(`no host ${h}`);
  const p = h + 1;
  const c = (p % 254) + 1;
  const q = Math.floor(p / 254);
  return `127.${Math.floor(q / 256)}.${q % 256}.${c}`;
}

const FILLER =
  'The quick brown fox jumps over the lazy dog while the crawler keeps its manners on every host. ';

/**
 * Builds the multi-host graph. Reachability from host 0's `/` is by construction: within a
 * host, page i's tree children are pages b·i+1 … b·i+b (b = max(2, ceil(linksPerPage/2))), and
 * the home page of host h also links to the home pages of hosts b·h+1 … b·h+b, so every page of
 * every host is reachable and the depth grows with log(hosts) + log(pagesPerHost). The
 * remaining slots up to linksPerPage are random: with probability `crossHostLinks` a page of
 * another host, otherwise a page of the same host with id < b·i+1. Home pages may carry more
 * than linksPerPage links (both trees). Same-host hrefs alternate between root-relative
 * (`/p/5`), relative (`5`, `p/5` from `/`) and absolute forms; cross-host hrefs are absolute
 * (`http://127.0.x.y:port/p/5`). No fragments, duplicates or external links: a broad crawl of
 * it should fetch each page exactly once.
 */
export function buildMultiHostGraph(opts: MultiHostGraphOptions): MultiHostGraph {
  const hosts = Math.floor(opts.hosts);
  if (!(hosts >= 1 && hosts <= MAX_HOSTS))
    throw new RangeError(`hosts must be 1..${MAX_HOSTS}, got ${opts.hosts}`);
  const pagesPerHost = Math.max(1, Math.floor(opts.pagesPerHost ?? 20));
  const linksPerPage = Math.max(1, Math.floor(opts.linksPerPage ?? 10));
  const crossHostLinks = Math.min(1, Math.max(0, opts.crossHostLinks ?? 0.2));
  const pageBytes = Math.max(0, Math.floor(opts.pageBytes ?? 2048));
  const seed = (opts.seed ?? 1) >>> 0;
  const branching = Math.max(2, Math.ceil(linksPerPage / 2));
  const totalPages = hosts * pagesPerHost;

  const check = (host: number, id: number): void => {
    if (!Number.isInteger(host) || host < 0 || host >= hosts) throw new RangeError(`no host ${host}`);
    if (!Number.isInteger(id) || id < 0 || id >= pagesPerHost) throw new RangeError(`no page ${id}`);
  };

  /** All link targets of a page in slot order (with repeats). */
  const targetsOf = (host: number, id: number): PageRef[] => {
    const t: PageRef[] = [];
    const first = branching * id + 1;
    for (let c = first; c < Math.min(pagesPerHost, first + branching); c++) t.push({ host, id: c });
    if (id === 0) {
      const h0 = branching * host + 1;
      for (let h = h0; h < Math.min(hosts, h0 + branching); h++) t.push({ host: h, id: 0 });
    }
    const rand = prng(mix(seed ^ 0x51ed270b, host, id));
    const limit = Math.min(pagesPerHost, first);
    while (t.length < linksPerPage) {
      if (hosts > 1 && rand() < crossHostLinks) {
        const other = (host + 1 + Math.floor(rand() * (hosts - 1))) % hosts;
        t.push({ host: other, id: Math.floor(rand() * pagesPerHost) });
      } else {
        t.push({ host, id: Math.floor(rand() * limit) });
      }
    }
    return t;
  };

  const pathOf = (id: number): string => (id === 0 ? '/' : `/p/${id}`);
  const originOf = (host: number, port: number): string => `http://${hostAddress(host)}:${port}`;
  const hrefsOf = (host: number, id: number, port: number): string[] => {
    check(host, id);
    return targetsOf(host, id).map((t, j) => {
      if (t.host !== host) return `${originOf(t.host, port)}${pathOf(t.id)}`;
      switch ((id + j) % 3) {
        case 0:
          return pathOf(t.id);
        case 1:
          // Relative to /p/<id> (directory /p/) or to / (directory /).
          if (t.id === 0) return '/';
          return id === 0 ? `p/${t.id}` : `${t.id}`;
        default:
          return `${originOf(host, port)}${pathOf(t.id)}`;
      }
    });
  };

  const filler = Buffer.from(FILLER.repeat(Math.ceil((pageBytes + 4096) / FILLER.length) + 1), 'utf8');
  const render = (host: number, id: number, port: number): Buffer => {
    const links = hrefsOf(host, id, port)
      .map((h, j) => `<li><a href="${escapeHtml(h)}">link ${j}</a></li>`)
      .join('\n');
    const head = Buffer.from(
      `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Host ${host} page ${id}</title>\n` +
        `<meta name="description" content="Generated page ${id} of ${pagesPerHost} on host ${host} of ${hosts}.">\n` +
        `</head><body><h1>Host ${host} page ${id}</h1>\n<nav><ul>\n${links}\n</ul></nav>\n<p>`,
      'utf8',
    );
    const tail = Buffer.from('</p>\n</body></html>\n', 'utf8');
    const pad = Math.max(0, pageBytes - head.length - tail.length);
    const offset = pad === 0 ? 0 : mix(seed, host, id) % (filler.length - pad);
    return Buffer.concat([head, filler.subarray(offset, offset + pad), tail]);
  };

  let depths: Int32Array | undefined;
  let deepest = 0;
  const bfs = (): Int32Array => {
    if (depths !== undefined) return depths;
    const d = new Int32Array(totalPages).fill(-1);
    const queue = new Int32Array(totalPages);
    d[0] = 0;
    let head = 0;
    let tail = 1;
    while (head < tail) {
      const n = queue[head++]!;
      const host = Math.floor(n / pagesPerHost);
      for (const t of targetsOf(host, n - host * pagesPerHost)) {
        const m = t.host * pagesPerHost + t.id;
        if (d[m] === -1) {
          d[m] = d[n]! + 1;
          if (d[m]! > deepest) deepest = d[m]!;
          queue[tail++] = m;
        }
      }
    }
    depths = d;
    return d;
  };

  return {
    hosts,
    pagesPerHost,
    linksPerPage,
    crossHostLinks,
    pageBytes,
    seed,
    branching,
    totalPages,
    addressOf(host) {
      if (!Number.isInteger(host) || host < 0 || host >= hosts) throw new RangeError(`no host ${host}`);
      return hostAddress(host);
    },
    pathOf,
    idOfPath: (path) => pageIdOfPath(path, pagesPerHost),
    linksOf(host, id) {
      check(host, id);
      const seen = new Set<number>();
      const out: PageRef[] = [];
      for (const t of targetsOf(host, id)) {
        const k = t.host * pagesPerHost + t.id;
        if (!seen.has(k)) {
          seen.add(k);
          out.push(t);
        }
      }
      return out;
    },
    hrefsOf,
    render(host, id, port) {
      check(host, id);
      return render(host, id, port);
    },
    depthOf(host, id) {
      check(host, id);
      return bfs()[host * pagesPerHost + id]!;
    },
    maxDepth() {
      bfs();
      return deepest;
    },
  };
}
