import * as fs from 'node:fs';
import { basename } from 'node:path';
import * as zlib from 'node:zlib';

/** One record of a WARC file as {@link readWarc} finds it. */
export interface WarcRecordRead {
  /** Where its gzip member starts (a `.warc.gz`), or the record itself (a plain `.warc`). */
  offset: number;
  /**
   * The member's compressed length; in a plain file the record's length without the CRLFCRLF
   * that ends it, as warcio (Python and JS) and so pywb's indexes count it.
   */
  length: number;
  /** The header fields in order (Content-Length included; not the `WARC/1.x` line), values trimmed. */
  fields: [string, string][];
  /** The record block (Content-Length bytes). */
  block: Buffer;
}

/** The first value of the WARC header field `name` (compared case-insensitively), or undefined. */
export function warcField(r: WarcRecordRead, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [n, v] of r.fields) if (n.toLowerCase() === lower) return v;
  return undefined;
}

// Bytes read at a time; a record larger than this is read by doubling the window.
const WINDOW = 1 << 20;
const FEXTRA = 4;
const FNAME = 8;
const FCOMMENT = 16;
const FHCRC = 2;

/** A read window over a file: the bytes from `pos`, read afresh when they are not buffered. */
class FileWindow {
  private buf = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly fd: number,
    readonly end: number,
  ) {}

  /**
   * The bytes from `pos` to the end of the buffer, at least `n` of them unless the file (up to
   * `end`) ends first. A fresh buffer on every read, so slices handed out earlier stay valid.
   */
  view(pos: number, n: number): Buffer {
    const bufEnd = this.start + this.buf.length;
    if (pos >= this.start && (pos + n <= bufEnd || bufEnd >= this.end))
      return this.buf.subarray(pos - this.start);
    const want = Math.min(Math.max(n, WINDOW), this.end - pos);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(this.fd, buf, got, want - got, pos + got);
      if (r === 0) break;
      got += r;
    }
    this.buf = buf.subarray(0, got);
    this.start = pos;
    return this.buf;
  }
}

/** The size of the gzip member header at the start of `b`, or -1 when it is not (all) there. */
function gzipHeaderLength(b: Buffer): number {
  if (b.length < 10) return -1;
  const flags = b[3] as number;
  let p = 10;
  if (flags & FEXTRA) {
    if (b.length < p + 2) return -1;
    p += 2 + b.readUInt16LE(p);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const z = b.indexOf(0, p);
      if (z < 0) return -1;
      p = z + 1;
    }
  }
  if (flags & FHCRC) p += 2;
  return p <= b.length ? p : -1;
}

/** Parses a record (`WARC/…` header, block, CRLFCRLF) at the start of `data`; null when incomplete. */
function parseRecord(
  data: Buffer,
  where: string,
): { fields: [string, string][]; block: Buffer; end: number } | null {
  const headEnd = data.indexOf('\r\n\r\n', 0, 'latin1');
  if (headEnd < 0) return null;
  const lines = data.toString('utf8', 0, headEnd).split('\r\n');
  if (!(lines[0] as string).startsWith('WARC/')) throw new Error(`${where}: not a WARC record`);
  const fields: [string, string][] = [];
  for (const line of lines.slice(1)) {
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      last[1] += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) fields.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  const cl = fields.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  const length = Number(cl);
  if (cl === undefined || !Number.isSafeInteger(length) || length < 0) {
    throw new Error(`${where}: the record has no valid Content-Length`);
  }
  const blockStart = headEnd + 4;
  if (data.length < blockStart + length + 4) return null;
  if (data.toString('latin1', blockStart + length, blockStart + length + 4) !== '\r\n\r\n') {
    throw new Error(`${where}: the record is not followed by CRLFCRLF (wrong Content-Length?)`);
  }
  return { fields, block: data.subarray(blockStart, blockStart + length), end: blockStart + length + 4 };
}

/**
 * The records of a WARC file, in order, read synchronously a window at a time (so a file of any
 * size takes little memory). A file starting with the gzip magic is read as one gzip member per
 * record — the layout WARC recommends and the writer produces; each member's CRC and size are
 * checked — otherwise as plain concatenated records (stray CR/LF bytes between records are
 * skipped). Only the first `end` bytes are read when given (default: the whole file), from
 * `start` (default 0; it must be where a record begins). Throws an
 * Error naming the file and offset on anything else: a truncated or corrupt member, a member
 * holding more or less than one record, a missing Content-Length, a file that is not a WARC.
 */
export function* readWarc(file: string, end?: number, start = 0): Generator<WarcRecordRead> {
  const fd = fs.openSync(file, 'r');
  try {
    const size = Math.min(end ?? Number.POSITIVE_INFINITY, fs.fstatSync(fd).size);
    const win = new FileWindow(fd, size);
    const head = win.view(0, 2);
    const gz = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
    let pos = start;
    while (pos < size) {
      const where = `${file} at offset ${pos}`;
      let want = 64 * 1024;
      for (;;) {
        const data = win.view(pos, want);
        const more = pos + data.length < size;
        const rec = gz ? gzipMember(data, more, where) : plainRecord(data, more, where);
        if (rec !== null) {
          yield { offset: pos, length: rec.length, fields: rec.fields, block: rec.block };
          pos += rec.next;
          break;
        }
        if (!more) throw new Error(`${where}: the file ends inside a record`);
        want = data.length * 2;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** A record found at the start of a window: `length` its own bytes, `next` the distance to the next one. */
interface Found {
  fields: [string, string][];
  block: Buffer;
  length: number;
  next: number;
}

/**
 * The plain record at the start of `data`, with the blank lines after it (other writers' slack,
 * not counted in its length); null when it or its slack may go on past `data` and `more` follows.
 */
function plainRecord(data: Buffer, more: boolean, where: string): Found | null {
  const r = parseRecord(data, where);
  if (r === null) return null;
  let next = r.end;
  while (next < data.length && (data[next] === 0x0d || data[next] === 0x0a)) next++;
  if (next === data.length && more) return null;
  return { fields: r.fields, block: r.block, length: r.end - 4, next };
}

/** The gzip member at the start of `data` as one record; null when it does not end within `data` and `more` follows. */
function gzipMember(data: Buffer, more: boolean, where: string): Found | null {
  if (data.length >= 3 && (data[0] !== 0x1f || data[1] !== 0x8b || data[2] !== 8)) {
    throw new Error(`${where}: not a gzip member`);
  }
  const hl = gzipHeaderLength(data);
  if (hl < 0) return null;
  let out: { buffer: Buffer; engine: { bytesWritten: number } };
  try {
    out = zlib.inflateRawSync(data.subarray(hl), { info: true }) as unknown as typeof out;
  } catch (err) {
    if ((err as { code?: string }).code === 'Z_BUF_ERROR' && more) return null;
    throw new Error(`${where}: corrupt gzip member (${(err as Error).message})`);
  }
  const trailer = hl + out.engine.bytesWritten;
  if (data.length < trailer + 8) {
    if (more) return null;
    throw new Error(`${where}: the file ends inside a gzip member`);
  }
  const text = out.buffer;
  if (
    data.readUInt32LE(trailer) !== zlib.crc32(text) ||
    data.readUInt32LE(trailer + 4) !== text.length % 2 ** 32
  ) {
    throw new Error(`${where}: gzip member fails its CRC or size check`);
  }
  const r = parseRecord(text, where);
  if (r === null) throw new Error(`${where}: the gzip member holds an incomplete record`);
  if (r.end !== text.length) throw new Error(`${where}: the gzip member holds more than one record`);
  return { fields: r.fields, block: r.block, length: trailer + 8, next: trailer + 8 };
}

/** A parsed HTTP head: its first line and its header fields (name as received, value trimmed). */
interface HttpHead {
  line: string;
  fields: [string, string][];
}

/**
 * The HTTP head at the start of a block as warcio.js parses it: up to the first CRLFCRLF (the
 * whole block without one), UTF-8, folded lines appended. Null for an empty first line.
 */
function httpHead(block: Buffer): HttpHead | null {
  const end = block.indexOf('\r\n\r\n', 0, 'latin1');
  const text = block.toString('utf8', 0, end < 0 ? block.length : end);
  const nl = text.indexOf('\n');
  const line = (nl < 0 ? text : text.slice(0, nl)).trimEnd();
  if (line === '') return null;
  const fields: [string, string][] = [];
  for (const l of nl < 0 ? [] : text.slice(nl + 1).split('\n')) {
    const last = fields[fields.length - 1];
    if ((l.startsWith(' ') || l.startsWith('\t')) && last !== undefined) {
      last[1] += l.trimEnd();
      continue;
    }
    const colon = l.indexOf(':');
    if (colon >= 0) {
      const value = l.slice(colon + 1).trim();
      if (value !== '') fields.push([l.slice(0, colon).trimStart(), value]);
    }
  }
  return { line, fields };
}

/** All values of header `name`, joined by `, ` as the Fetch Headers class does; null if none. */
function header(h: HttpHead, name: string): string | null {
  const values = h.fields.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length > 0 ? values.join(', ') : null;
}

/**
 * The SURT form of a URL as warcio.js's `getSurt` (and so pywb's CDXJ) computes it: non-HTTP
 * URLs as they are; otherwise a leading `www`/`wwwN.` dropped, everything lower-cased, the host's
 * labels reversed and comma-joined, `:port` if not the default, `)`, the path, and the query's
 * `&`-separated parts sorted. `http://www.Example.com/a?b=1&a=2` → `com,example)/a?a=2&b=1`.
 */
export function surt(url: string): string {
  if (!url.startsWith('https:') && !url.startsWith('http:')) return url;
  try {
    const u = new URL(url.replace(/^(https?:\/\/)www\d*\./, '$1').toLowerCase());
    let s = u.hostname.split('.').reverse().join(',');
    if (u.port) s += `:${u.port}`;
    s += `)${u.pathname}`;
    if (u.search) s += `?${u.search.slice(1).split('&').sort().join('&')}`;
    return s;
  } catch {
    return url;
  }
}

const MAX_QUERY = 4096;

/** JSON as query parameters, as warcio.js's jsonToQueryParams (nested keys flattened, repeats numbered). */
function jsonToQuery(text: string, ignoreInvalid = true): string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = {};
  }
  const q = new URLSearchParams();
  // A plain object as in warcio, so inherited names count as seen the same way.
  const dupes: Record<string, number> = {};
  const getKey = (key: string): string => {
    if (!q.has(key)) return key;
    if (!(key in dupes)) dupes[key] = 1;
    dupes[key] = (dupes[key] as number) + 1;
    return `${key}.${dupes[key]}_`;
  };
  const parse = (v: unknown, key = ''): void => {
    let value = '';
    if (typeof v === 'object' && !Array.isArray(v)) {
      if (v === null) value = 'null';
      else for (const [k, x] of Object.entries(v)) parse(x, k);
    } else if (Array.isArray(v)) {
      for (const x of v) parse(x, key);
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') value = String(v);
    if (value) q.set(getKey(key), value);
  };
  try {
    parse(json);
  } catch (err) {
    if (!ignoreInvalid) throw err;
  }
  return q.toString();
}

/** multipart/form-data fields as a query, as warcio.js's mfdToQueryParams (one-line values only). */
function multipartToQuery(text: string, contentType: string): string {
  const params = new URLSearchParams();
  try {
    const boundary = contentType.split('boundary=')[1];
    for (const part of text.split(new RegExp(`-*${boundary}-*`, 'mi'))) {
      const m = part.trim().match(/name="([^"]+)"\r\n\r\n(.*)/im);
      if (m) params.set(m[1] as string, m[2] as string);
    }
  } catch {
    // An unusable boundary adds no parameters, as in warcio.
  }
  return params.toString();
}

/**
 * A non-GET request's body as the query pywb and warcio.js append to its URL key, so that replay
 * can find a POST by its body: form fields as they are, JSON and text/plain-JSON flattened,
 * multipart fields, anything else `__wb_post_data=` + base64. Null for a GET.
 */
function requestQuery(req: HttpHead, body: Buffer): { method: string; query: string } | null {
  const method = req.line.split(' ', 2)[0] as string;
  if (method === 'GET') return null;
  const contentType = header(req, 'content-type') ?? '';
  const text = () => new TextDecoder().decode(body);
  const binary = () => `__wb_post_data=${body.toString('base64')}`;
  let query: string;
  switch (contentType.split(';')[0]) {
    case 'application/x-www-form-urlencoded':
      query = text();
      break;
    case 'application/json':
      query = jsonToQuery(text());
      break;
    case 'text/plain':
      try {
        query = jsonToQuery(text(), false);
      } catch {
        query = binary();
      }
      break;
    case 'multipart/form-data':
      query = multipartToQuery(text(), contentType);
      break;
    default:
      query = binary();
  }
  if (query.length > MAX_QUERY) query = query.slice(0, MAX_QUERY);
  return { method, query };
}

/** A record's WARC-Target-URI, without the angle brackets old wget wrapped it in. */
function targetUri(r: WarcRecordRead): string | undefined {
  const uri = warcField(r, 'WARC-Target-URI');
  return uri?.startsWith('<') && uri.endsWith('>') ? uri.slice(1, -1) : uri;
}

/** The CDXJ line of a response or revisit record `r`, paired with its request `req` if any. */
function cdxjLine(r: WarcRecordRead, req: WarcRecordRead | null, filename: string): string {
  const type = warcField(r, 'WARC-Type');
  const url = targetUri(r);
  const http = type === 'response' || r.block.length > 0 ? httpHead(r.block) : null;
  let key = url ?? '';
  let method: string | undefined;
  let requestBody: string | undefined;
  const reqHead = req === null ? null : httpHead(req.block);
  if (req !== null && reqHead !== null) {
    const end = req.block.indexOf('\r\n\r\n', 0, 'latin1');
    const q = requestQuery(reqHead, end < 0 ? Buffer.alloc(0) : req.block.subarray(end + 4));
    if (q !== null) {
      method = q.method;
      if (q.query !== '') requestBody = q.query;
      let decoded: string;
      try {
        decoded = decodeURI(q.query);
      } catch {
        decoded = '';
      }
      if (q.method) key = `${key}${key.indexOf('?') > 0 ? '&' : '?'}__wb_method=${q.method}&${decoded}`;
    }
  }
  let mime: string | undefined;
  if (type === 'revisit') mime = 'warc/revisit';
  else if (http !== null) mime = header(http, 'content-type')?.split(';', 1)[0]?.trim();
  let status: string | undefined;
  if (http !== null) {
    const parts = http.line.split(' ');
    status = parts.length > 1 ? String(Number(parts[1])) : '';
  }
  const digest = warcField(r, 'WARC-Payload-Digest')?.split(':', 2)[1];
  const json = JSON.stringify({
    url,
    mime,
    status,
    digest,
    length: String(r.length),
    offset: String(r.offset),
    filename,
    method,
    requestBody,
  });
  const timestamp = (warcField(r, 'WARC-Date') ?? '').replace(/[-:T]/g, '').slice(0, 14);
  return `${surt(key)} ${timestamp} ${json}`;
}

/**
 * The CDXJ index of WARC files, the format pywb and warcio.js (`cdx-index --format cdxj`)
 * produce: one line per response and revisit record, `<SURT key> <14-digit timestamp> {json}`,
 * the JSON holding `url`, `mime` (the Content-Type's media type; `warc/revisit` for revisits),
 * `status`, `digest` (the payload digest without its `sha1:`), `length` and `offset` (of the
 * record's gzip member, or of the plain record, see WarcRecordRead), `filename` (the file's base name) and, for a
 * non-GET request, `method` and `requestBody` (the body as a query, which is also appended to the
 * key after `__wb_method=…` so replay can match a POST by its body). A response and the request
 * next to it with the same target URI (either order) are paired, as warcio.js pairs them. Lines
 * (no newline) are sorted by their bytes, i.e. by key, then timestamp. Reads with
 * {@link readWarc} (throws on a malformed file); `ends` may give a file's committed length, past
 * which it is not read (a crawl's last file may have an uncommitted tail).
 */
export function cdxjLines(files: readonly string[], ends?: ReadonlyMap<string, number>): string[] {
  const lines: string[] = [];
  for (const file of files) {
    const filename = basename(file);
    const emit = (r: WarcRecordRead, req: WarcRecordRead | null) => {
      const type = warcField(r, 'WARC-Type');
      if (type === 'response' || type === 'revisit') lines.push(cdxjLine(r, req, filename));
    };
    let last: WarcRecordRead | null = null;
    for (const r of readWarc(file, ends?.get(file))) {
      if (last === null) {
        last = r;
        continue;
      }
      const type = warcField(r, 'WARC-Type');
      const lastType = warcField(last, 'WARC-Type');
      if (targetUri(r) !== targetUri(last)) {
        emit(last, null);
        last = r;
      } else if (type === 'request' && (lastType === 'response' || lastType === 'revisit')) {
        emit(last, r);
        last = null;
      } else if ((type === 'response' || type === 'revisit') && lastType === 'request') {
        emit(r, last);
        last = null;
      } else {
        emit(last, null);
        last = r;
      }
    }
    if (last !== null) emit(last, null);
  }
  return lines.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
