import { pipeline } from 'node:stream';
import { TextDecoder } from 'node:util';
import {
  type BrotliDecompress,
  createBrotliDecompress,
  createGunzip,
  createInflate,
  createInflateRaw,
  type Gunzip,
  type Inflate,
  type InflateRaw,
} from 'node:zlib';

/** Error code thrown for a Content-Encoding we cannot undo; classifyError maps it to 'decode'. */
export const UNSUPPORTED_ENCODING_CODE = 'ERR_ZLIB_UNSUPPORTED_CONTENT_ENCODING';

/**
 * Parses a Content-Encoding header value into the codings to undo, outermost first (the header
 * lists them in the order they were applied, so this is the reversed list). `identity` and empty
 * items are dropped; names are lower-cased. An absent header gives [].
 */
export function parseContentEncoding(value: string | null | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity')
    .reverse();
}

/**
 * True when the first bytes of a `deflate` body carry a zlib (RFC 1950) header. Servers disagree
 * on what "deflate" means: most send zlib-wrapped data as the RFC says, some send raw RFC 1951
 * data. A zlib header is CM=8 in the low nibble and a 16-bit value divisible by 31.
 */
export function looksLikeZlib(head: Uint8Array): boolean {
  if (head.length < 2) return false;
  const cmf = head[0]!;
  const flg = head[1]!;
  return (cmf & 0x0f) === 8 && cmf >> 4 <= 7 && ((cmf << 8) | flg) % 31 === 0;
}

type Decompressor = Gunzip | Inflate | InflateRaw | BrotliDecompress;

function makeDecompressor(coding: string, head: Uint8Array): Decompressor {
  switch (coding) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return looksLikeZlib(head) ? createInflate() : createInflateRaw();
    case 'br':
      return createBrotliDecompress();
    default: {
      const err = new Error(`unsupported Content-Encoding '${coding}'`) as Error & { code: string };
      err.code = UNSUPPORTED_ENCODING_CODE;
      throw err;
    }
  }
}

const noop = (): void => {};

/**
 * Undoes one content coding over a stream of chunks, lazily and with backpressure: the
 * decompressor only inflates as fast as the consumer pulls, so a consumer that stops after N bytes
 * keeps memory at about N plus one zlib window however large the bomb. An empty input yields
 * nothing rather than a zlib "unexpected end of file" (servers send `Content-Encoding: gzip` on
 * empty 204/304 bodies). A truncated or corrupt input throws the zlib error (codes `Z_*` or
 * `ERR__ERROR_FORMAT_*`); an error of the source is rethrown unchanged.
 */
async function* decompressLayer(source: AsyncIterable<Buffer>, coding: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  // Two bytes decide raw vs zlib deflate; gather them (servers may send 1-byte chunks).
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 2) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  if (headLen === 0) return;
  const z = makeDecompressor(coding, Buffer.concat(head));
  async function* replay(): AsyncGenerator<Buffer> {
    yield* head;
    while (!ended) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  // pipeline forwards a source error into z (so iterating z throws it) and tears both down when
  // the consumer stops early; the callback is a no-op because iteration reports the error.
  const out = pipeline(replay(), z, noop);
  for await (const chunk of out) yield chunk as Buffer;
}

/**
 * Wraps a raw body stream so that iterating it yields the decoded (decompressed) bytes, undoing
 * every coding listed in `contentEncoding` (gzip, x-gzip, deflate in zlib or raw form, br;
 * `identity` ignored). Without a coding the source is returned as is. An unsupported coding throws
 * an error with code UNSUPPORTED_ENCODING_CODE on the first pull, before anything is read.
 * Breaking out of the iteration does not destroy the underlying body: the caller owns it and must
 * destroy it on early exit (fetchPage does, so the socket is freed).
 */
export function decodedChunks(source: AsyncIterable<Buffer>, contentEncoding: string | null | undefined) {
  let out: AsyncIterable<Buffer> = source;
  for (const coding of parseContentEncoding(contentEncoding)) out = decompressLayer(out, coding);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Charset

/** A parsed Content-Type: the lower-cased essence (`type/subtype`) and the charset parameter. */
export interface ContentType {
  mime: string | null;
  charset: string | null;
}

/**
 * Parses a Content-Type header value. `mime` is the lower-cased `type/subtype`, or null when the
 * value is absent or not of that form; `charset` is the unquoted `charset` parameter as sent
 * (trimmed, not validated), or null.
 */
export function parseContentType(value: string | null | undefined): ContentType {
  if (!value) return { mime: null, charset: null };
  const parts = value.split(';');
  const essence = parts[0]!.trim().toLowerCase();
  const mime = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(essence) ? essence : null;
  let charset: string | null = null;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    let v = p.slice(eq + 1).trim();
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (v !== '') charset = v;
    break;
  }
  return { mime, charset };
}

/** True for HTML types (text/html, application/xhtml+xml). */
export function isHtmlMime(mime: string | null): boolean {
  return mime === 'text/html' || mime === 'application/xhtml+xml';
}

/** True for XML types (application/xml, text/xml, anything `+xml`). */
export function isXmlMime(mime: string | null): boolean {
  return mime !== null && (mime === 'application/xml' || mime === 'text/xml' || mime.endsWith('+xml'));
}

/**
 * True when a body of this type is text that fetchPage decodes into `FetchResult.text`: every
 * `text/*`, the HTML and XML types, JSON (`application/json`, `+json`) and JavaScript. Null (no
 * Content-Type) is false; fetchPage sniffs that case separately.
 */
export function isTextMime(mime: string | null): boolean {
  if (mime === null) return false;
  return (
    mime.startsWith('text/') ||
    isHtmlMime(mime) ||
    isXmlMime(mime) ||
    mime === 'application/json' ||
    mime.endsWith('+json') ||
    mime === 'application/javascript' ||
    mime === 'application/ecmascript'
  );
}

const HTML_SNIFF = [
  '<!doctype html',
  '<html',
  '<head',
  '<script',
  '<iframe',
  '<h1',
  '<div',
  '<font',
  '<table',
  '<a',
  '<style',
  '<title',
  '<b',
  '<body',
  '<br',
  '<p',
  '<!--',
];

/**
 * Guesses the type of a body served without Content-Type, from its first bytes, following the
 * spirit of WHATWG MIME sniffing's HTML and XML rules: after a BOM and leading whitespace, one of
 * the HTML tag openers followed by space or `>` gives 'text/html'; `<?xml` gives 'text/xml';
 * anything else gives null (treated as binary).
 */
export function sniffMime(body: Uint8Array): string | null {
  const bom = sniffBom(body);
  const start = bom ? bom.length : 0;
  const s = Buffer.from(body.subarray(start, start + 512))
    .toString('latin1')
    .trimStart()
    .toLowerCase();
  if (s.startsWith('<?xml')) return 'text/xml';
  for (const p of HTML_SNIFF) {
    if (s.startsWith(p)) {
      const next = s.charAt(p.length);
      if (p === '<!--' || next === ' ' || next === '>' || next === '\t' || next === '\n' || next === '\r') {
        return 'text/html';
      }
    }
  }
  return null;
}

/** The encoding a byte-order mark announces and the BOM's length, or null without a BOM. */
export function sniffBom(bytes: Uint8Array): { encoding: string; length: number } | null {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return { encoding: 'utf-8', length: 3 };
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  return null;
}

/**
 * WHATWG Encoding's index-windows-1252 for bytes 0x80–0x9F (the only range where it differs from
 * ISO-8859-1). Node 20's small-ICU TextDecoder('windows-1252') decodes these bytes as C1 controls
 * U+0080–U+009F; the Encoding Standard (and every browser) maps them to € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž
 * ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ. The five holes (0x81 0x8D 0x8F 0x90 0x9D) stay U+0081 etc.
 */
const WIN1252_C1: readonly number[] = [
  0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152,
  0x008d, 0x017d, 0x008f, 0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122,
  0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
];

/**
 * Repairs a windows-1252 decode of a TextDecoder that produced C1 controls (U+0080–U+009F) for
 * bytes 0x80–0x9F, replacing each with its WHATWG index-windows-1252 character. Text without C1
 * characters is returned as is (one regex test). Exported for tests.
 */
export function fixWindows1252(text: string): string {
  if (!/[\u0080-\u009f]/.test(text)) return text;
  return text.replace(/[\u0080-\u009f]/g, (c) => String.fromCharCode(WIN1252_C1[c.charCodeAt(0) - 0x80]!));
}

// Whether this runtime's TextDecoder already follows WHATWG for windows-1252 (full ICU, Node 22+).
const WIN1252_OK = new TextDecoder('windows-1252').decode(Uint8Array.of(0x80)) === '\u20ac';

/**
 * Decodes `bytes` with `decoder`, applying the windows-1252 repair when the decoder is the
 * windows-1252 one (every label WHATWG maps there: latin1, iso-8859-1, us-ascii, ascii, cp1252…,
 * since TextDecoder resolves them all to `encoding === 'windows-1252'`) and the runtime needs it.
 */
function decodeWith(decoder: TextDecoder, bytes: Uint8Array): string {
  const text = decoder.decode(bytes);
  return decoder.encoding === 'windows-1252' && !WIN1252_OK ? fixWindows1252(text) : text;
}

const decoders = new Map<string, TextDecoder | null>();

function decoderFor(label: string): TextDecoder | null {
  const key = label.trim().toLowerCase();
  let d = decoders.get(key);
  if (d === undefined) {
    try {
      // fatal: false — invalid sequences become U+FFFD instead of throwing.
      d = new TextDecoder(key, { fatal: false });
    } catch {
      d = null;
    }
    if (decoders.size < 256) decoders.set(key, d);
  }
  return d;
}

/**
 * The WHATWG name of the encoding a label denotes (`'latin1'` → `'windows-1252'`,
 * `'UTF8'` → `'utf-8'`), or null when this Node build's TextDecoder does not support it.
 */
export function resolveEncoding(label: string | null | undefined): string | null {
  if (!label) return null;
  return decoderFor(label)?.encoding ?? null;
}

function charsetFromContent(content: string): string | null {
  const m = /charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))/i.exec(content);
  return m ? (m[1] ?? m[2] ?? m[3] ?? null) : null;
}

function parseAttributes(s: string): Map<string, string> {
  const attrs = new Map<string, string>();
  const re = /([^\s=/>"']+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?/g;
  for (const m of s.matchAll(re)) {
    const name = m[1]!.toLowerCase();
    // First occurrence wins, as in the HTML tokenizer.
    if (!attrs.has(name)) attrs.set(name, m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

/**
 * A simplified WHATWG "prescan a byte stream to determine its encoding": looks at the first 1024
 * bytes, skips comments, and returns the encoding named by the first `<meta charset=...>` or
 * `<meta http-equiv="content-type" content="...; charset=...">` whose label TextDecoder supports.
 * As the spec says, a UTF-16 label found this way means UTF-8 (a page that can be read as ASCII
 * to find the tag cannot be UTF-16). Returns the WHATWG encoding name, or null.
 */
export function prescanMetaCharset(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, 1024))
    .toString('latin1')
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  for (const m of head.matchAll(/<meta[\s/]([^>]*)/gi)) {
    const attrs = parseAttributes(m[1]!);
    let label: string | null = null;
    const cs = attrs.get('charset');
    if (cs !== undefined && cs.trim() !== '') label = cs;
    else if (attrs.get('http-equiv')?.trim().toLowerCase() === 'content-type') {
      const content = attrs.get('content');
      if (content !== undefined) label = charsetFromContent(content);
    }
    const enc = resolveEncoding(label);
    if (enc === null) continue;
    return enc === 'utf-16le' || enc === 'utf-16be' ? 'utf-8' : enc;
  }
  return null;
}

/** The encoding an XML declaration (`<?xml version="1.0" encoding="..."?>`) names, if supported. */
export function xmlDeclEncoding(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, 256)).toString('latin1');
  const m = /^<\?xml\s[^>]*?encoding\s*=\s*["']([^"']+)["']/.exec(head);
  return m ? resolveEncoding(m[1]) : null;
}

/**
 * Decides a text body's encoding and decodes it. The order is the WHATWG one: a byte-order mark
 * wins (it cannot be an accident), then the Content-Type charset if TextDecoder supports it, then
 * for HTML the `<meta>` prescan and for XML the XML declaration, then UTF-8. Unknown labels are
 * skipped, never fatal. Decoding never throws: invalid sequences become U+FFFD. Returns the text
 * (without BOM) and the WHATWG name of the encoding used.
 */
export function decodeText(
  body: Uint8Array,
  opts: { mime: string | null; headerCharset: string | null },
): { text: string; charset: string } {
  const bom = sniffBom(body);
  let enc: string | null = bom ? bom.encoding : resolveEncoding(opts.headerCharset);
  if (enc === null && isHtmlMime(opts.mime)) enc = prescanMetaCharset(body);
  if (enc === null && isXmlMime(opts.mime)) enc = xmlDeclEncoding(body);
  if (enc === null) enc = 'utf-8';
  const decoder = decoderFor(enc) ?? decoderFor('utf-8')!;
  return { text: decodeWith(decoder, body), charset: decoder.encoding };
}
