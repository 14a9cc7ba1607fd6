/**
 * robots.txt per RFC 9309 (Robots Exclusion Protocol).
 *
 * Why not the `robots-parser` package: it passes all 121 RFC-scoped cases of Google's suite, but
 * measured against RFC 9309 §2.2.2 it (a) does not decode percent-encoded unreserved characters,
 * so `Disallow: /%62az` fails to block `/baz`, and (b) normalises patterns with `encodeURI` but
 * paths with the WHATWG URL parser, which disagree on `|`, `^`, `[`, `]`, `\`, so `Disallow: /a|b`
 * fails to block `/a|b`. Both leak disallowed URLs, so we match ourselves (it is small): one
 * normalisation for patterns and paths, and the linear-time wildcard matcher of google/robotstxt.
 */

/** The parsed rules of one robots.txt, answering for any path on that origin. */
export interface Robots {
  /**
   * Reports whether `userAgent` may fetch `url`. `url` is resolved against the robots.txt
   * origin's root (so a bare path works and `''` means `/`) and only its path and query are compared: the caller is responsible
   * for asking the Robots of the URL's own origin. The rules used are those of every group whose
   * user-agent equals the crawler's product token (the leading `[A-Za-z_-]` run of `userAgent`,
   * compared case-insensitively), merged; if no group names it, the `*` groups; if none, all
   * is allowed. Among the matching rules the longest pattern (in octets after normalisation)
   * wins and an allow wins a tie. `/robots.txt` itself is always allowed. A `url` that cannot
   * be parsed is reported as not allowed. Never throws.
   */
  isAllowed(url: string, userAgent: string): boolean;
  /**
   * The Crawl-delay in seconds from the groups selected for `userAgent` as in
   * {@link Robots.isAllowed} (the first valid, non-negative value), or undefined when they set
   * none. Crawl-delay is not part of RFC 9309; it is honoured because many sites rely on it.
   */
  crawlDelay(userAgent: string): number | undefined;
  /** Every `Sitemap:` URL in the file (anywhere, any group), resolved to absolute, de-duplicated, in order. */
  sitemaps(): string[];
}

/** RFC 9309 §2.5: crawlers may stop parsing after 500 KiB. */
const MAX_PARSE_CHARS = 500 * 1024;

interface Rule {
  allow: boolean;
  pattern: string;
}

interface Group {
  agents: string[];
  rules: Rule[];
  crawlDelay?: number;
}

/**
 * Parses a robots.txt body fetched from `url` (its location, used to resolve relative sitemap
 * URLs and bare paths). Accepts `\n`, `\r\n` and `\r` line ends, a leading UTF-8 BOM, `#`
 * comments and any case of the field names; lines without a colon, unknown fields and rules
 * that precede every user-agent line are ignored (RFC 9309 §2.1/§2.2). Consecutive user-agent
 * lines share one group; an allow, disallow or crawl-delay line closes the list of agents, so
 * the next user-agent line starts a new group. A user-agent value is cut at its first
 * whitespace and compared case-insensitively. Only the first 500 KiB are parsed (§2.5).
 */
export function parseRobots(url: string, body: string): Robots {
  const groups: Group[] = [];
  const sitemaps: string[] = [];
  const seenSitemaps = new Set<string>();
  let current: Group | undefined;
  let collectingAgents = false;
  const text = body.length > MAX_PARSE_CHARS ? body.slice(0, MAX_PARSE_CHARS) : body;
  for (let line of text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/)) {
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'user-agent': {
        if (!collectingAgents || current === undefined) {
          current = { agents: [], rules: [] };
          groups.push(current);
          collectingAgents = true;
        }
        const agent = value.split(/\s/, 1)[0]!.toLowerCase();
        if (agent !== '') current.agents.push(agent);
        break;
      }
      case 'allow':
      case 'disallow':
        collectingAgents = false;
        // An empty pattern matches nothing (RFC 9309 §2.2.2: "Disallow:" allows everything).
        if (current !== undefined && value !== '') {
          current.rules.push({ allow: key === 'allow', pattern: normalizePath(value) });
        }
        break;
      case 'crawl-delay': {
        collectingAgents = false;
        const delay = Number(value);
        if (current !== undefined && current.crawlDelay === undefined && value !== '' && delay >= 0) {
          current.crawlDelay = delay;
        }
        break;
      }
      case 'sitemap': {
        if (value === '') break;
        let abs: string;
        try {
          abs = new URL(value, url).href;
        } catch {
          break;
        }
        if (!seenSitemaps.has(abs)) {
          seenSitemaps.add(abs);
          sitemaps.push(abs);
        }
        break;
      }
    }
  }
  return new ParsedRobots(url, groups, sitemaps);
}

class ParsedRobots implements Robots {
  private readonly selected = new Map<string, { rules: Rule[]; crawlDelay?: number }>();

  private readonly base: string;

  constructor(
    location: string,
    private readonly groups: Group[],
    private readonly sitemapList: string[],
  ) {
    // Bare paths (and '') resolve against the origin root, never against /robots.txt itself.
    let base = 'http://invalid/';
    try {
      base = new URL('/', location).href;
    } catch {}
    this.base = base;
  }

  isAllowed(url: string, userAgent: string): boolean {
    let path: string;
    try {
      const u = new URL(url, this.base);
      // From the serialised URL rather than pathname+search, which drops an empty query's '?'.
      u.hash = '';
      const href = u.href;
      const start = href.indexOf('/', u.protocol.length + 2);
      path = start < 0 ? '/' : href.slice(start);
    } catch {
      return false;
    }
    if (path === '/robots.txt') return true;
    return decide(this.select(userAgent).rules, normalizePath(path));
  }

  crawlDelay(userAgent: string): number | undefined {
    return this.select(userAgent).crawlDelay;
  }

  sitemaps(): string[] {
    return [...this.sitemapList];
  }

  private select(userAgent: string): { rules: Rule[]; crawlDelay?: number } {
    const token = productToken(userAgent);
    let hit = this.selected.get(token);
    if (hit !== undefined) return hit;
    let matching = token === '' ? [] : this.groups.filter((g) => g.agents.includes(token));
    if (matching.length === 0) matching = this.groups.filter((g) => g.agents.includes('*'));
    hit = {
      rules: matching.flatMap((g) => g.rules),
      crawlDelay: matching.find((g) => g.crawlDelay !== undefined)?.crawlDelay,
    };
    this.selected.set(token, hit);
    return hit;
  }
}

/**
 * The product token RFC 9309 §2.2.1 matches on: the leading run of `[A-Za-z_-]` in a user-agent
 * string, lower-cased (`"Trawl/0.1 (+https://x)"` → `"trawl"`). Empty if the string starts
 * with anything else.
 */
export function productToken(userAgent: string): string {
  return (/^[A-Za-z_-]*/.exec(userAgent.trim())?.[0] ?? '').toLowerCase();
}

function decide(rules: Rule[], path: string): boolean {
  let best: Rule | undefined;
  for (const rule of rules) {
    if (!matches(rule.pattern, path)) continue;
    if (
      best === undefined ||
      rule.pattern.length > best.pattern.length ||
      (rule.pattern.length === best.pattern.length && rule.allow && !best.allow)
    ) {
      best = rule;
    }
  }
  return best === undefined || best.allow;
}

/**
 * Reports whether a normalised robots pattern matches a prefix of a normalised path: `*`
 * matches any run of characters, a `$` as the last character anchors the end, and any other
 * `$` is literal. Linear in pattern × path (the google/robotstxt algorithm: track the set of
 * path offsets the pattern prefix can end at) so hostile patterns cannot blow up.
 */
export function matches(pattern: string, path: string): boolean {
  const ends = new Int32Array(path.length + 1);
  let count = 1;
  ends[0] = 0;
  for (let p = 0; p < pattern.length; p++) {
    const c = pattern.charCodeAt(p);
    if (c === 0x24 /* $ */ && p + 1 === pattern.length) return ends[count - 1] === path.length;
    if (c === 0x2a /* * */) {
      // From the smallest reachable offset, every later offset becomes reachable.
      count = path.length - ends[0]! + 1;
      for (let i = 1; i < count; i++) ends[i] = ends[i - 1]! + 1;
    } else {
      let next = 0;
      for (let i = 0; i < count; i++) {
        const e = ends[i]!;
        if (e < path.length && path.charCodeAt(e) === c) ends[next++] = e + 1;
      }
      if (next === 0) return false;
      count = next;
    }
  }
  return true;
}

const HEX = '0123456789ABCDEF';
const UNRESERVED = /[A-Za-z0-9\-._~]/;
// RFC 3986 reserved characters stay as they are (they are delimiters); so do `%` (handled
// below) and the pattern operators `*` and `$`, which are themselves reserved.
const KEEP = /[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]/;

/**
 * Normalises a robots.txt pattern or a URL path+query for comparison (RFC 9309 §2.2.2): non-ASCII
 * characters become UTF-8 percent-escapes, ASCII characters that are neither unreserved nor
 * reserved (space, `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`, controls) are
 * percent-encoded, escapes of unreserved characters are decoded (`%62` → `b`), other escapes
 * are upper-cased (`%2f` → `%2F`), and a `%` that does not start a valid escape becomes `%25`.
 * The result is idempotent.
 */
export function normalizePath(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const code = s.charCodeAt(i);
    if (ch === '%') {
      const h = s.slice(i + 1, i + 3);
      if (/^[0-9A-Fa-f]{2}$/.test(h)) {
        const decoded = String.fromCharCode(Number.parseInt(h, 16));
        out += UNRESERVED.test(decoded) ? decoded : `%${h.toUpperCase()}`;
        i += 2;
      } else {
        out += '%25';
      }
    } else if (code < 0x80) {
      out += KEEP.test(ch) ? ch : `%${HEX[code >> 4]}${HEX[code & 15]}`;
    } else {
      const cp = s.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      i += char.length - 1;
      // Lone surrogates cannot be UTF-8 encoded; U+FFFD is what a URL parser would use.
      const bytes = Buffer.from(cp >= 0xd800 && cp <= 0xdfff ? '\uFFFD' : char, 'utf8');
      for (const b of bytes) out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
    }
  }
  return out;
}

const ALLOW_ALL = parseRobots('http://invalid/', '');
const DISALLOW_ALL = parseRobots('http://invalid/', 'User-agent: *\nDisallow: /\n');

/**
 * The Robots to use when robots.txt could not be read as a 2xx body (RFC 9309 §2.3.1):
 * a 3xx that was not (or could not be) followed to a body and any 4xx except 429 mean
 * "unavailable" → allow everything; 429, any 5xx, and `status <= 0` or any other value for "unreachable"
 * (network error, timeout) mean disallow everything until robots.txt can be fetched. 429 is
 * treated like 5xx (as Google does) because it means the server wants fewer requests, not that
 * it has no robots.txt. For a 2xx returns undefined: parse the body with {@link parseRobots}.
 */
export function robotsForStatus(status: number): Robots | undefined {
  if (status >= 200 && status < 300) return undefined;
  if (status >= 300 && status < 500 && status !== 429) return ALLOW_ALL;
  return DISALLOW_ALL;
}
