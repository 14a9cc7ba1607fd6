import { createHash, hash, randomUUID } from 'node:crypto';
import type { Exchange } from '../exchange.js';
import { gzipMember } from './gzip-member.js';

/** The WARC-Profile of a revisit record (WARC 1.1 §6.7.2 and §6.7.3), by its last path segment. */
export type RevisitProfile = 'server-not-modified' | 'identical-payload-digest';

/** The capture a revisit record stands in for. */
export interface RevisitOf {
  /** Its WARC-Target-URI. */
  uri: string;
  /** Its WARC-Date, in ms since the epoch. */
  date: number;
  /** Its WARC-Record-ID (`<urn:uuid:…>`), when known: written as WARC-Refers-To. */
  recordId?: string;
}

/**
 * What the WARC writer archives for one exchange. `exchange`: a request and a response record.
 * `revisit`: a request and a revisit record — for a 304 answering a conditional request
 * (`server-not-modified`), or for a response whose complete body equals the payload of the capture
 * `refersTo` (`identical-payload-digest`; compare with {@link payloadDigest}). `id` is the
 * response's (or revisit's) WARC-Record-ID, from {@link newRecordId}, for a caller that wants to
 * refer to this capture later; default a fresh one.
 */
export type WarcEntry =
  | { type: 'exchange'; exchange: Exchange; id?: string }
  | { type: 'revisit'; exchange: Exchange; profile: RevisitProfile; refersTo: RevisitOf; id?: string };

/** WARC header fields in order, `[name, value]`; Content-Length is added by {@link warcRecord}. */
export type WarcFields = readonly (readonly [string, string])[];

const PROFILE_URI = 'http://netpreserve.org/warc/1.1/revisit/';
const CRLF = Buffer.from('\r\n', 'latin1');
const END = Buffer.from('\r\n\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');
const EMPTY = Buffer.alloc(0);
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A fresh WARC-Record-ID: `<urn:uuid:…>` around a random (v4) UUID. */
export function newRecordId(): string {
  return `<urn:uuid:${randomUUID()}>`;
}

/** RFC 4648 base32 of `bytes`, uppercase, `=`-padded to a multiple of 8 characters (none for SHA-1's 20 bytes). */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** A digest field value: `sha1:` + the base32 SHA-1 of the parts, concatenated. */
export function sha1Digest(parts: readonly Uint8Array[]): string {
  if (parts.length === 1) return `sha1:${base32(hash('sha1', parts[0] as Uint8Array, 'buffer'))}`;
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return `sha1:${base32(h.digest())}`;
}

/**
 * The WARC-Payload-Digest the writer records for a response body (`Exchange.responseBody`:
 * transfer coding removed, content coding kept), and the one an identical-payload-digest revisit
 * must match: `sha1:` + base32.
 */
export function payloadDigest(body: Uint8Array): string {
  return body.length === 0 ? EMPTY_DIGEST : sha1Digest([body]);
}

/** The digest of no bytes: every request without a body has it as its payload digest. */
const EMPTY_DIGEST = 'sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ';

/**
 * A WARC-Date: UTC `YYYY-MM-DDThh:mm:ssZ`. Whole seconds (the fraction is dropped, not rounded):
 * WARC/1.1 allows a fraction, but WARC/1.0-era readers and the 14-digit CDX timestamp do not use
 * it, and a revisit's WARC-Refers-To-Date must spell its original's date the same way.
 */
export function warcDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/**
 * One WARC/1.1 record: `WARC/1.1`, the fields, `Content-Length` (the block's size, computed
 * here), an empty line, the block (the parts concatenated) and the two CRLFs that end a record.
 * Field names must be tokens and values must not contain CR or LF (a RangeError otherwise), so a
 * value cannot forge fields or end the header early. Values are written as UTF-8.
 */
export function warcRecord(fields: WarcFields, block: readonly Uint8Array[]): Buffer {
  return joinRecord(recordParts(fields, block));
}

/**
 * A record not yet joined into one buffer: `head` (`WARC/1.1` to the empty line), the block's
 * parts, and `length`, the joined record's size (the two CRLFs that end it included). The
 * serializer writes records straight into their destination (the batch's buffer, or the gzip
 * input) instead of joining each one first: a 20 KB page is copied once, not twice.
 */
interface RecordParts {
  head: Buffer;
  block: readonly Uint8Array[];
  length: number;
}

/** {@link warcRecord}'s record as parts (same checks, same RangeErrors). */
function recordParts(fields: WarcFields, block: readonly Uint8Array[]): RecordParts {
  let length = 0;
  for (const p of block) length += p.length;
  let text = 'WARC/1.1\r\n';
  for (const [name, value] of fields) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw new RangeError(`bad WARC field name ${JSON.stringify(name)}`);
    if (/[\r\n]/.test(value)) throw new RangeError(`WARC field ${name} contains a line break`);
    text += `${name}: ${value}\r\n`;
  }
  text += `Content-Length: ${length}\r\n\r\n`;
  const head = Buffer.from(text, 'utf8');
  return { head, block, length: head.length + length + END.length };
}

/** Writes record `r` into `out` at `at` (it must fit); returns the offset after it. */
function writeRecord(r: RecordParts, out: Uint8Array, at: number): number {
  out.set(r.head, at);
  let i = at + r.head.length;
  for (const p of r.block) {
    out.set(p, i);
    i += p.length;
  }
  out.set(END, i);
  return i + END.length;
}

/** Record `r` as one buffer. */
function joinRecord(r: RecordParts): Buffer {
  const out = Buffer.allocUnsafe(r.length);
  writeRecord(r, out, 0);
  return out;
}

/**
 * The `warcinfo` record that opens a WARC file: an `application/warc-fields` block of
 * `software`, `format`, `conformsTo` and then `info`'s fields in order (an info field named like
 * one of the first three replaces it), with WARC-Filename `filename` (a base name).
 */
export function warcinfoRecord(o: {
  id: string;
  date: number;
  filename: string;
  software: string;
  info?: Readonly<Record<string, string>>;
}): Buffer {
  const fields: Record<string, string> = {
    software: o.software,
    format: 'WARC File Format 1.1',
    conformsTo: 'http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/',
    ...o.info,
  };
  let text = '';
  for (const [name, value] of Object.entries(fields)) {
    if (/[\r\n]/.test(value) || /[\r\n:]/.test(name))
      throw new RangeError(`bad warcinfo field ${JSON.stringify(name)}`);
    text += `${name}: ${value}\r\n`;
  }
  const block = Buffer.from(text, 'utf8');
  return warcRecord(
    [
      ['WARC-Type', 'warcinfo'],
      ['WARC-Record-ID', o.id],
      ['WARC-Date', warcDate(o.date)],
      ['WARC-Filename', o.filename],
      ['WARC-Block-Digest', sha1Digest([block])],
      ['Content-Type', 'application/warc-fields'],
    ],
    [block],
  );
}

/**
 * True when an HTTP head's final transfer coding is `chunked` (the Transfer-Encoding values of
 * all its lines, as one comma-separated list; names and codings compared case-insensitively).
 */
export function isChunked(head: Buffer): boolean {
  const text = head.toString('latin1');
  let last = '';
  for (const m of text.matchAll(/\r\ntransfer-encoding:([^\r\n]*)/gi)) {
    const codings = (m[1] as string).split(',');
    for (const c of codings) if (c.trim() !== '') last = c.trim();
  }
  return last.toLowerCase() === 'chunked';
}

/**
 * An HTTP message's block: `head` and then the body framed as the head says. The exchange holds
 * the body with its transfer coding removed (undici undoes chunking), so when the head's final
 * transfer coding is chunked the body is re-chunked — one chunk of the whole body, then the last
 * chunk `0\r\n\r\n` — and the head is kept exactly as received: the record stays a valid,
 * self-consistent message that readers (warcio, pywb) de-chunk back to the body. A truncated
 * body gets no last chunk (the message really ended early; WARC-Truncated says why), and an empty
 * one is just the last chunk. Without chunking the body follows the head as it is.
 */
function httpBlock(head: Buffer, body: Buffer, truncated: boolean): Buffer[] {
  if (!isChunked(head)) return body.length > 0 ? [head, body] : [head];
  const parts = [head];
  if (body.length > 0) parts.push(Buffer.from(`${body.length.toString(16)}\r\n`, 'latin1'), body, CRLF);
  if (!truncated) parts.push(LAST_CHUNK);
  return parts;
}

/**
 * The records of one entry, in file order: the response (or revisit) record first, then its
 * request — the order of warcio and pywb, so an index points at the response — each naming the
 * other in WARC-Concurrent-To (both ways, so readers expecting wget's or warcio's direction find
 * the link). Both have the exchange's URL and date (whole seconds), its peer address when known
 * and WARC-Warcinfo-ID `warcinfoId`.
 *
 * Blocks are `application/http;msgtype=…` messages: the request head and body (re-chunked if the
 * head says chunked), and for a response the head and body framed as received (see httpBlock).
 * WARC-Block-Digest is the SHA-1 of the block; WARC-Payload-Digest is the SHA-1 of the payload as
 * WARC 1.1 §6.3.2 defines it: the entity body with the transfer coding removed and the content
 * coding kept, i.e. exactly `responseBody` — not the re-chunked bytes, so a payload's digest does
 * not depend on how it was chunked (warcio.js's own serializer hashes the raw framed bytes, a
 * known deviation from the spec; it does not verify digests when reading). A truncated response
 * gets WARC-Truncated and the digest of the bytes kept.
 *
 * Revisits (WARC 1.1 §6.7): the block is the response head alone; WARC-Profile is the profile's
 * 1.1 URI; WARC-Refers-To-Target-URI and -Date (and WARC-Refers-To when the original's id is
 * known) name the original capture. An identical-payload-digest revisit carries the payload
 * digest of `responseBody`, which must be the complete payload equal to the original's; a
 * server-not-modified one (a 304, no payload of its own) has none.
 */
export function entryRecords(entry: WarcEntry, warcinfoId: string | null): Buffer[] {
  return entryParts(entry, warcinfoId).map(joinRecord);
}

/** {@link entryRecords}'s records as parts, not yet joined (see RecordParts). */
function entryParts(entry: WarcEntry, warcinfoId: string | null): RecordParts[] {
  const ex = entry.exchange;
  const id = entry.id ?? newRecordId();
  const requestId = newRecordId();
  const date = warcDate(ex.date);
  const common = (type: string, concurrent: string): [string, string][] => {
    const f: [string, string][] = [
      ['WARC-Type', type],
      ['WARC-Record-ID', type === 'request' ? requestId : id],
      ['WARC-Date', date],
      ['WARC-Target-URI', ex.url],
    ];
    if (ex.ip !== null) f.push(['WARC-IP-Address', ex.ip]);
    if (warcinfoId !== null) f.push(['WARC-Warcinfo-ID', warcinfoId]);
    f.push(['WARC-Concurrent-To', concurrent]);
    return f;
  };

  let main: RecordParts;
  if (entry.type === 'exchange') {
    const block = httpBlock(ex.responseHead, ex.responseBody, ex.truncated !== undefined);
    const f = common('response', requestId);
    if (ex.truncated !== undefined) f.push(['WARC-Truncated', ex.truncated]);
    f.push(
      ['WARC-Block-Digest', sha1Digest(block)],
      ['WARC-Payload-Digest', payloadDigest(ex.responseBody)],
      ['Content-Type', 'application/http;msgtype=response'],
    );
    main = recordParts(f, block);
  } else {
    const block = [ex.responseHead];
    const f = common('revisit', requestId);
    f.push(['WARC-Profile', PROFILE_URI + entry.profile]);
    if (entry.refersTo.recordId !== undefined) f.push(['WARC-Refers-To', entry.refersTo.recordId]);
    f.push(
      ['WARC-Refers-To-Target-URI', entry.refersTo.uri],
      ['WARC-Refers-To-Date', warcDate(entry.refersTo.date)],
      ['WARC-Block-Digest', sha1Digest(block)],
    );
    if (entry.profile === 'identical-payload-digest') {
      f.push(['WARC-Payload-Digest', payloadDigest(ex.responseBody)]);
    }
    f.push(['Content-Type', 'application/http;msgtype=response']);
    main = recordParts(f, block);
  }

  const reqBody = ex.requestBody ?? EMPTY;
  const reqBlock = httpBlock(ex.requestHead, reqBody, false);
  const rf = common('request', id);
  rf.push(
    ['WARC-Block-Digest', sha1Digest(reqBlock)],
    ['WARC-Payload-Digest', payloadDigest(reqBody)],
    ['Content-Type', 'application/http;msgtype=request'],
  );
  return [main, recordParts(rf, reqBlock)];
}

/** One batch of a WARC file's records, as WarcWriter hands it to be serialized. */
export interface WarcBatch {
  /** The file's warcinfo record (uncompressed, from warcinfoRecord) to put first; null when the file has it already. */
  head: Buffer | null;
  /** The entries, in file order. */
  entries: readonly WarcEntry[];
  /** The WARC-Warcinfo-ID every entry's records name. */
  warcinfoId: string;
  /** True for a `.warc.gz`: each record becomes its own gzip member (see GZIP_LEVEL in gzip-member.ts). */
  gzip: boolean;
}

/**
 * The bytes of `batch` as they go into the file: `head` (when not null), then each entry's
 * records (see {@link entryRecords}) in order, each record gzipped as its own member when
 * `batch.gzip`. The one serializer of the WARC output, on whichever thread runs it. Throws a
 * RangeError as warcRecord does (a field value with a line break).
 */
export function serializeBatch(batch: WarcBatch): Buffer {
  const records: RecordParts[] = [];
  for (const e of batch.entries) for (const r of entryParts(e, batch.warcinfoId)) records.push(r);
  const head = batch.head;
  if (!batch.gzip) {
    // Plain: every record written once, straight into the batch's buffer.
    let total = head === null ? 0 : head.length;
    for (const r of records) total += r.length;
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    if (head !== null) {
      out.set(head, 0);
      at = head.length;
    }
    for (const r of records) at = writeRecord(r, out, at);
    return out;
  }
  const members: Buffer[] = head === null ? [] : [gzipMember([head], head.length)];
  for (const r of records) members.push(gzipMember([r.head, ...r.block, END], r.length));
  return Buffer.concat(members);
}
