// The Netscape cookies.txt format, as curl (lib/cookie.c: parse_netscape / get_netscape_format),
// wget, yt-dlp, Python's MozillaCookieJar and browsers' export extensions read and write it:
//
//   # Netscape HTTP Cookie File
//   .example.com	TRUE	/	FALSE	1767225600	theme	dark
//   #HttpOnly_www.example.com	FALSE	/	TRUE	0	sid	abc
//
// One cookie a line, seven TAB-separated fields. A line starting with `#HttpOnly_` is an HttpOnly
// cookie (Firefox and curl write them so), every other `#` line is a comment.

import { readFileSync } from 'node:fs';
import { UsageError } from '../usage-error.js';

/** One cookie of a cookies.txt file, as the file states it (no expiry check, no domain policy). */
export interface NetscapeCookie {
  /**
   * Host or domain, lower-cased, without the leading dot (`.example.com` → `example.com`), without
   * a `:port` (wget writes one) and without IPv6 brackets.
   */
  domain: string;
  /** True: the cookie also goes to subdomains (field 2 TRUE, or a leading dot); false: host-only. */
  includeSubdomains: boolean;
  /** The cookie's path; always starts with `/`. */
  path: string;
  /** Send over https only. */
  secure: boolean;
  /** The line had curl's / Firefox's `#HttpOnly_` prefix. */
  httpOnly: boolean;
  /** Expiry in unix seconds; 0 = a session cookie (no expiry). */
  expires: number;
  /** The cookie's name (never empty). */
  name: string;
  /** The cookie's value; may be empty. */
  value: string;
}

const HTTP_ONLY_PREFIX = '#HttpOnly_';

// Bytes a Cookie header cannot carry: control characters (curl's invalid_octets() refuses the same
// when loading a file) and `;`, which would end the cookie early and start another one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f;]/;
// A name additionally cannot hold `=` (it would move the name/value split).
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const BAD_NAME = /[\u0000-\u0008\u000a-\u001f\u007f;=]/;
// unix seconds: digits, optionally a fraction (some exporters write float seconds; it is dropped).
const EXPIRES = /^\d+(?:\.\d*)?$/;
// The largest time a JS Date holds (ms 8.64e15), in seconds: later expiries are clamped to it.
const MAX_EXPIRES = 8.64e12;

/**
 * Parses the text of a Netscape cookies.txt file. Lines end with LF or CRLF; a leading UTF-8 BOM is
 * ignored; blank lines and `#` comments are skipped, except that a line starting with `#HttpOnly_`
 * is a cookie with `httpOnly` set and its domain after the prefix. A cookie line has seven
 * TAB-separated fields: domain, includeSubdomains (TRUE/FALSE, any case), path, secure
 * (TRUE/FALSE), expires (unix seconds; 0 or empty = session cookie; a fractional part is dropped),
 * name, value. As curl reads it, a six-field line is a cookie with an empty value — unless its
 * third field is TRUE/FALSE, which is the old path-less layout (path `/`). A leading dot on the
 * domain means the cookie is for subdomains too, whatever field 2 says; a `host:port` domain (as
 * wget writes for a non-default port) loses its port. Nothing is checked
 * against the clock or the public-suffix list here: the jar does that on import.
 *
 * Throws {@link UsageError} `--cookies FILE: line N: <problem>` at the first malformed line (N
 * counts from 1, comments and blank lines included). The message never contains a field of the
 * line, so a cookie value cannot leak through it.
 */
export function parseCookiesTxt(text: string, file: string): NetscapeCookie[] {
  const out: NetscapeCookie[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    let httpOnly = false;
    if (line.startsWith(HTTP_ONLY_PREFIX)) {
      httpOnly = true;
      line = line.slice(HTTP_ONLY_PREFIX.length);
      if (line.startsWith('#')) continue; // curl: still a comment after the prefix
    } else if (line.startsWith('#') || line.trim() === '') {
      continue;
    }
    const problem = (what: string): UsageError => new UsageError(`--cookies ${file}: line ${i + 1}: ${what}`);
    let fields = line.split('\t');
    if (fields.length === 6) {
      // curl's two readings of six fields (see above).
      fields = isBool(fields[2]!) ? [fields[0]!, fields[1]!, '/', ...fields.slice(2)] : [...fields, ''];
    }
    if (fields.length !== 7) {
      throw problem(`expected 7 TAB-separated fields, found ${fields.length}`);
    }
    const [rawDomain, subdomains, path, secure, expires, name, value] = fields as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const dotted = rawDomain.startsWith('.');
    const domain = hostOf(dotted ? rawDomain.slice(1) : rawDomain);
    if (domain === null) throw problem('field 1 (domain) is not a host name');
    if (!isBool(subdomains)) throw problem('field 2 (include subdomains) must be TRUE or FALSE');
    if (!path.startsWith('/')) throw problem('field 3 (path) must start with /');
    if (BAD_VALUE.test(path)) throw problem('field 3 (path) contains a control character or ;');
    if (!isBool(secure)) throw problem('field 4 (secure) must be TRUE or FALSE');
    if (expires !== '' && !EXPIRES.test(expires)) {
      throw problem('field 5 (expires) must be unix seconds (0 for a session cookie)');
    }
    if (name === '') throw problem('field 6 (name) is empty');
    if (BAD_NAME.test(name)) throw problem('field 6 (name) contains a control character, ; or =');
    if (BAD_VALUE.test(value)) throw problem('field 7 (value) contains a control character or ;');
    out.push({
      domain,
      includeSubdomains: dotted || subdomains.toUpperCase() === 'TRUE',
      path,
      secure: secure.toUpperCase() === 'TRUE',
      httpOnly,
      expires: expires === '' ? 0 : Math.min(Math.floor(Number(expires)), MAX_EXPIRES),
      name,
      value,
    });
  }
  return out;
}

/**
 * Reads and parses the cookies.txt file at `file` (UTF-8) with {@link parseCookiesTxt}. Synchronous:
 * it runs once, before the crawl starts. An unreadable file throws {@link UsageError} `--cookies
 * FILE: <reason>` (e.g. `no such file`, `permission denied`, `is a directory`); a malformed line
 * throws as parseCookiesTxt does.
 */
export function readCookiesTxt(file: string): NetscapeCookie[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--cookies ${file}: ${ioReason(err)}`);
  }
  return parseCookiesTxt(text, file);
}

function isBool(field: string): boolean {
  const upper = field.toUpperCase();
  return upper === 'TRUE' || upper === 'FALSE';
}

// The host of field 1, lower-cased: a DNS name, an IPv4 address or an IPv6 address (curl writes
// `::1`; brackets are accepted and dropped). wget writes `host:port` for a non-default port; the
// port is dropped, as cookies are not scoped by port (RFC 6265 §8.5). null: not a host.
function hostOf(field: string): string | null {
  let host = field.toLowerCase();
  if (host.startsWith('[')) {
    const m = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(host);
    return m?.[1]?.includes(':') ? m[1] : null;
  }
  const colons = host.split(':').length - 1;
  if (colons >= 2) return /^[0-9a-f:.]+$/.test(host) ? host : null;
  if (colons === 1) {
    const m = /^(.+):\d{1,5}$/.exec(host);
    if (!m) return null;
    host = m[1]!;
  }
  return /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/.test(host) ? host : null;
}

function ioReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return code ?? (err instanceof Error ? err.message : String(err));
  }
}
