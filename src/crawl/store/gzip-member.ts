// One gzip member per call, as a .warc.gz needs one per record (WARC 1.1 Annex D): small records
// by a hand-written deflate (smallMember), big ones through a zlib stream kept for the thread
// (ReusedGzip), gzipSync where that is not available. Split from warc-record.ts, which decides
// what the records are; this file only decides how their bytes are compressed.
import { constants, crc32, createGzip, gunzipSync, gzipSync } from 'node:zlib';

// gzip level, measured on the 2-core dev VM (Node 20, zlib 1.3.1) for one page of 20 KB of HTML,
// best of repeated runs: gzipSync level 1 ≈ 52–69 µs (ratio 0.306), level 6 ≈ 96–103 µs (0.281).
// Level 6 buys 8 % smaller files for ~80 % more CPU, so level 1 (2 and 3 cost the same as 1 on the
// archive benchmark's pages, for nothing). A page's records — two SHA-1s of the body ≈ 25 µs, the
// response through a kept zlib stream (see ReusedGzip) ≈ 35 µs, the request by smallMember
// ≈ 6 µs — cost ≈ 75 µs to serialize for a .warc.gz (≈ 40 µs for a plain .warc), measured on the
// archive benchmark's 20 KB pages; they cost ≈ 100 µs with a gzipSync per record. Measured inside
// crawls of the benchmark (both serializers on every batch of the same crawl, thread CPU time):
// 72–88 µs against 95–116. WarcWriter.writeAsync can do it on a WarcThread, off the crawl's main
// thread.
/** The zlib level of a record's member in a `.warc.gz` (records over SMALL_MAX; smaller ones are a {@link smallMember}). */
export const GZIP_LEVEL = 1;

const GZIP_OPTIONS = { level: GZIP_LEVEL };

/**
 * `chunks` (`length` bytes in all) as one gzip member: by {@link smallMember} up to SMALL_MAX
 * bytes, else by zlib — the thread's {@link ReusedGzip}, fed the chunks one by one (a record is
 * never joined in memory first), or gzipSync where that is not available.
 */
export function gzipMember(chunks: readonly Uint8Array[], length: number): Buffer {
  if (length <= SMALL_MAX) {
    if (chunks.length === 1) return smallMember(chunks[0] as Uint8Array);
    smallIn ??= Buffer.allocUnsafeSlow(SMALL_MAX);
    let at = 0;
    for (const c of chunks) {
      smallIn.set(c, at);
      at += c.length;
    }
    return smallMember(smallIn.subarray(0, at));
  }
  return reusedGzip()?.member(chunks) ?? gzipSync(Buffer.concat(chunks, length), GZIP_OPTIONS);
}

/** Where a small record is joined for smallMember (one per thread: serializing is synchronous). */
let smallIn: Buffer | null = null;

// Small records — requests, revisits, redirects, the warcinfo: a few hundred bytes of header
// text — are compressed without zlib. A zlib call costs a fixed ≈ 13–20 µs whatever the size
// (stream setup, deflateInit, and above all building the block's three Huffman trees: half of
// it), about half of what the 20 KB page's compression costs. smallMember writes the member by
// hand instead: one deflate block (RFC 1951) with LZ77 matches found through a 3-byte hash (the
// latest earlier position only, greedy) and a Huffman code that is the same for every record —
// built once, from typical record text, with every symbol codable — so no tree is built per
// record and the block header is a constant. Measured on the archive benchmark's ~800-byte
// request records (2-core VM, Node 20): ≈ 6 µs a record against ≈ 15–22 µs for gzipSync, 581
// bytes against 544 (+1.9 % on the benchmark's .warc.gz, whose 20 KB pages compress to 1.4 KB;
// stored blocks, 827 bytes, would have cost +14 %, and a code without LZ77, 670 bytes, +6.5 %).

/** Records up to this size become a {@link smallMember}. */
const SMALL_MAX = 2048;

/** Text like the small records', from which their code is made. */
const TYPICAL = [
  'WARC/1.1',
  'WARC-Type: request',
  'WARC-Record-ID: <urn:uuid:f56a05d6-86b1-4f88-b22d-2e615ea5d795>',
  'WARC-Date: 2026-12-07T21:00:49Z',
  'WARC-Target-URI: https://www.example.com/blog/2024/06/some-article-title?page=2',
  'WARC-IP-Address: 93.184.215.14',
  'WARC-Warcinfo-ID: <urn:uuid:0844447a-2b52-4028-8f9b-eac3b5cf831a>',
  'WARC-Concurrent-To: <urn:uuid:f131fb89-7902-4bdd-b290-ae7a5f721335>',
  'WARC-Block-Digest: sha1:S3HJIRZUJWT47UBIE6ITRDUOFNHLYCDT',
  'WARC-Payload-Digest: sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ',
  'Content-Type: application/http;msgtype=request',
  'Content-Length: 276',
  '',
  'GET /blog/2024/06/some-article-title?page=2 HTTP/1.1',
  'host: www.example.com',
  'connection: keep-alive',
  'user-agent: trawl/0.1.0 (+https://github.com/trawl/trawl)',
  'accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language: en-US,en;q=0.9',
  'accept-encoding: gzip, deflate, br',
  '',
  '',
  '',
  'WARC/1.1',
  'WARC-Type: revisit',
  'WARC-Record-ID: <urn:uuid:7d0c6f3e-2b8a-4c1d-9e57-3f6a1b2c4d5e>',
  'WARC-Date: 2026-12-08T09:12:31Z',
  'WARC-Target-URI: https://www.example.com/docs/getting-started/',
  'WARC-IP-Address: 2606:2800:21f:cb07:6820:80da:af6b:8b2c',
  'WARC-Warcinfo-ID: <urn:uuid:0844447a-2b52-4028-8f9b-eac3b5cf831a>',
  'WARC-Concurrent-To: <urn:uuid:a91e3b57-6c2d-4f80-b1e9-58d7c3a2f460>',
  'WARC-Profile: http://netpreserve.org/warc/1.1/revisit/server-not-modified',
  'WARC-Refers-To: <urn:uuid:e2b4c6d8-0a1c-4e3f-8a5b-7c9d1e3f5a7b>',
  'WARC-Refers-To-Target-URI: https://www.example.com/docs/getting-started/',
  'WARC-Refers-To-Date: 2026-11-30T08:15:02Z',
  'WARC-Block-Digest: sha1:MZ7XQ4KJ2HV3NB5LC6DP8FG9TR2WS4YE',
  'Content-Type: application/http;msgtype=response',
  'Content-Length: 212',
  '',
  'HTTP/1.1 304 Not Modified',
  'Date: Tue, 08 Dec 2026 09:12:31 GMT',
  'ETag: "5f8a-1a2b3c4d"',
  'Last-Modified: Sat, 22 Jun 2024 00:00:00 GMT',
  'Cache-Control: max-age=3600',
  'Connection: keep-alive',
  '',
  '',
  '',
  'HTTP/1.1 301 Moved Permanently',
  'Content-Type: text/html; charset=utf-8',
  'Location: https://www.example.com/',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

/** Deflate's length codes 257–285: the first length of each, and its extra bits. */
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
/** Deflate's distance codes 0–29: the first distance of each, and its extra bits. */
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** Matches shorter than this are sent as literals (deflate's minimum is 3; 3, 4 and 5 give request records within a byte of each other). */
const MIN_MATCH = 4;
const MAX_MATCH = 258;
const HASH_BITS = 12;

/** The fixed code, and the block header that announces it. */
interface StaticCode {
  /** By literal/length symbol (0–285): the bit-reversed code | its length << 16. */
  litLen: Uint32Array;
  /** The same by distance symbol (0–29). */
  dist: Uint32Array;
  /** By match length (3–258): its length symbol's index (0–28). */
  lengthCode: Uint8Array;
  /** By distance (1–32,768): its distance symbol. */
  distCode: Uint8Array;
  /** The block header's whole bytes, then `tailBits` more bits in `tail`. */
  head: Uint8Array;
  tail: number;
  tailBits: number;
}
let staticCode: StaticCode | null = null;

/** Huffman code lengths, at most `limit`, for symbol weights `freq` (all ≥ 1): weights are halved until the tree is that shallow. */
function codeLengths(freq: readonly number[], limit: number): number[] {
  for (let f = [...freq]; ; f = f.map((w) => (w >> 1) + 1)) {
    const weight = [...f];
    const parent: number[] = [];
    const live = f.map((_, i) => i);
    while (live.length > 1) {
      live.sort((a, b) => (weight[a] as number) - (weight[b] as number) || a - b);
      const a = live.shift() as number;
      const b = live.shift() as number;
      const node = weight.push((weight[a] as number) + (weight[b] as number)) - 1;
      parent[a] = node;
      parent[b] = node;
      live.push(node);
    }
    const lens = f.map((_, i) => {
      let depth = 0;
      for (let j = parent[i]; j !== undefined; j = parent[j]) depth++;
      return depth;
    });
    if (Math.max(...lens) <= limit) return lens;
  }
}

/** The canonical codes of `lens` (RFC 1951 §3.2.2), bit-reversed (deflate sends a code's first bit first, the writer the low bit first), each | its length << 16. */
function canonicalCodes(lens: readonly number[]): Uint32Array {
  const next = new Array<number>(17).fill(0);
  let code = 0;
  for (let bits = 1; bits <= 16; bits++) {
    code = (code + lens.filter((l) => l === bits - 1 && l > 0).length) << 1;
    next[bits] = code;
  }
  return Uint32Array.from(lens, (l) => {
    if (l === 0) return 0;
    const c = next[l] as number;
    next[l] = c + 1;
    let reversed = 0;
    for (let i = 0; i < l; i++) reversed |= ((c >> i) & 1) << (l - 1 - i);
    return reversed | (l << 16);
  });
}

/** A little-endian bit writer into `out` (values of up to 16 bits at a time), for the block header. */
class BitWriter {
  o: number;
  acc = 0;
  k = 0;
  constructor(
    readonly out: Uint8Array,
    at: number,
  ) {
    this.o = at;
  }
  put(value: number, bits: number): void {
    this.acc |= value << this.k;
    this.k += bits;
    if (this.k >= 16) {
      this.out[this.o++] = this.acc & 0xff;
      this.out[this.o++] = (this.acc >>> 8) & 0xff;
      this.acc >>>= 16;
      this.k -= 16;
    }
  }
  /** A symbol coded as `entry` (code | length << 16). */
  code(entry: number): void {
    this.put(entry & 0xffff, entry >>> 16);
  }
}

/**
 * The LZ77 parse of `data` into `tokens`, returning their count: a literal byte as itself, a
 * match as its length << 16 | its distance. Greedy, one candidate per 3-byte hash (the latest
 * position), matches of MIN_MATCH–MAX_MATCH bytes at distances up to deflate's 32,768.
 */
function parseLz(data: Uint8Array, table: Int32Array, tokens: Int32Array): number {
  table.fill(-1);
  const n = data.length;
  const shift = 32 - HASH_BITS;
  let count = 0;
  let i = 0;
  while (i < n) {
    if (i + MIN_MATCH <= n) {
      const h =
        Math.imul(
          (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16),
          0x9e3779b1,
        ) >>> shift;
      const candidate = table[h] as number;
      table[h] = i;
      if (candidate >= 0 && i - candidate <= 32768) {
        const max = Math.min(MAX_MATCH, n - i);
        let l = 0;
        while (l < max && data[candidate + l] === data[i + l]) l++;
        if (l >= MIN_MATCH) {
          tokens[count++] = (l << 16) | (i - candidate);
          const end = Math.min(i + l, n - 2);
          for (let j = i + 1; j < end; j++) {
            const hj =
              Math.imul(
                (data[j] as number) | ((data[j + 1] as number) << 8) | ((data[j + 2] as number) << 16),
                0x9e3779b1,
              ) >>> shift;
            table[hj] = j;
          }
          i += l;
          continue;
        }
      }
    }
    tokens[count++] = data[i] as number;
    i++;
  }
  return count;
}

/** Builds the fixed code and its block header (once per thread, on the first small record). */
function buildStaticCode(): StaticCode {
  const lengthCode = new Uint8Array(MAX_MATCH + 1);
  for (let c = 0; c < LENGTH_BASE.length; c++) {
    const end = c + 1 < LENGTH_BASE.length ? (LENGTH_BASE[c + 1] as number) : MAX_MATCH + 1;
    for (let l = LENGTH_BASE[c] as number; l < end; l++) lengthCode[l] = c;
  }
  lengthCode[MAX_MATCH] = 28;
  const distCode = new Uint8Array(32768 + 1);
  for (let c = 0; c < DIST_BASE.length; c++) {
    for (let d = DIST_BASE[c] as number; d <= 32768; d++) distCode[d] = c;
  }
  // Weights: the symbols of TYPICAL's parse, 8 each, and 1 for every symbol so that any byte,
  // length and distance can be coded.
  const litFreq = new Array<number>(286).fill(1);
  const distFreq = new Array<number>(30).fill(1);
  const typical = Buffer.from(TYPICAL, 'latin1');
  const tokens = new Int32Array(typical.length);
  const count = parseLz(typical, new Int32Array(1 << HASH_BITS), tokens);
  for (const t of tokens.subarray(0, count)) {
    const lit = t < 0x10000 ? t : 257 + (lengthCode[t >>> 16] as number);
    litFreq[lit] = (litFreq[lit] as number) + 8;
    if (t >= 0x10000) {
      const dc = distCode[t & 0xffff] as number;
      distFreq[dc] = (distFreq[dc] as number) + 8;
    }
  }
  litFreq[256] = (litFreq[256] as number) + 8;
  const litLens = codeLengths(litFreq, 15);
  const distLens = codeLengths(distFreq, 15);
  // The header: BFINAL 1, BTYPE 2 (dynamic), HLIT 29 (286 codes), HDIST 29 (30 codes), HCLEN,
  // then the 316 code lengths in the code-length code, a run of one length as that length and
  // symbol 16 (3–6 more of the previous one).
  const all = [...litLens, ...distLens];
  const symbols: [number, number][] = [];
  for (let i = 0; i < all.length; ) {
    const l = all[i] as number;
    let run = 1;
    while (all[i + run] === l) run++;
    symbols.push([l, 0]);
    i += run;
    run--;
    for (; run >= 3; run -= Math.min(run, 6)) symbols.push([16, Math.min(run, 6) - 3]);
    for (; run > 0; run--) symbols.push([l, 0]);
  }
  const clFreq = new Array<number>(19).fill(0);
  for (const [sym] of symbols) clFreq[sym] = (clFreq[sym] as number) + 1;
  const used = clFreq.flatMap((count, sym) => (count > 0 ? [sym] : []));
  const usedLens = codeLengths(
    used.map((sym) => clFreq[sym] as number),
    7,
  );
  const clLens = new Array<number>(19).fill(0);
  used.forEach((sym, k) => {
    clLens[sym] = usedLens[k] as number;
  });
  const clCodes = canonicalCodes(clLens);
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
  let hclen = 19;
  while (hclen > 4 && clLens[order[hclen - 1] as number] === 0) hclen--;
  const w = new BitWriter(new Uint8Array(512), 0);
  w.put(1, 1);
  w.put(2, 2);
  w.put(286 - 257, 5);
  w.put(30 - 1, 5);
  w.put(hclen - 4, 4);
  for (let i = 0; i < hclen; i++) w.put(clLens[order[i] as number] as number, 3);
  for (const [sym, extra] of symbols) {
    w.code(clCodes[sym] as number);
    if (sym === 16) w.put(extra, 2);
  }
  // Whole bytes out; the last k < 8 bits stay as the tail each record's bits follow.
  while (w.k >= 8) {
    w.out[w.o++] = w.acc & 0xff;
    w.acc >>>= 8;
    w.k -= 8;
  }
  return {
    litLen: canonicalCodes(litLens),
    dist: canonicalCodes(distLens),
    lengthCode,
    distCode,
    head: w.out.slice(0, w.o),
    tail: w.acc,
    tailBits: w.k,
  };
}

/** gzip's 10-byte member header: deflate, no flags, no time, no extra flags, OS unknown. */
const GZIP_HEAD = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** smallMember's reused state: the hash table, the tokens and the output (a member is at most this big). */
let smallTable: Int32Array | null = null;
let smallTokens: Int32Array | null = null;
let smallOut: Uint8Array | null = null;

/**
 * `data` (at most SMALL_MAX bytes) as one gzip member: one deflate block coded with the fixed
 * code (see above), or one stored block when that is smaller (bytes the code was not made for);
 * then CRC-32 and size.
 */
export function smallMember(data: Uint8Array): Buffer {
  if (data.length > SMALL_MAX) throw new RangeError(`smallMember takes at most ${SMALL_MAX} bytes`);
  const code = (staticCode ??= buildStaticCode());
  const { litLen, dist, lengthCode, distCode } = code;
  // At most 15 + 5 bits per byte (a literal), the header and the end-of-block code.
  const out = (smallOut ??= new Uint8Array(10 + 512 + Math.ceil((SMALL_MAX * 20) / 8) + 16));
  const count = parseLz(
    data,
    (smallTable ??= new Int32Array(1 << HASH_BITS)),
    (smallTokens ??= new Int32Array(SMALL_MAX)),
  );
  const tokens = smallTokens;
  out.set(code.head, 10);
  let o = 10 + code.head.length;
  // Bits go in low-first; whole bytes leave at once, so fewer than 8 wait before each put and a
  // put (a code and its extra bits: at most 15 + 5, or 15 + 9 for distances under 2,048) fits.
  let acc = code.tail;
  let k = code.tailBits;
  for (let t = 0; t < count; t++) {
    const token = tokens[t] as number;
    if (token < 0x10000) {
      const e = litLen[token] as number;
      acc |= (e & 0xffff) << k;
      k += e >>> 16;
    } else {
      const length = token >>> 16;
      const lc = lengthCode[length] as number;
      const e = litLen[257 + lc] as number;
      acc |= ((e & 0xffff) | ((length - (LENGTH_BASE[lc] as number)) << (e >>> 16))) << k;
      k += (e >>> 16) + (LENGTH_EXTRA[lc] as number);
      for (; k >= 8; k -= 8, acc >>>= 8) out[o++] = acc & 0xff;
      const distance = token & 0xffff;
      const dc = distCode[distance] as number;
      const d = dist[dc] as number;
      acc |= ((d & 0xffff) | ((distance - (DIST_BASE[dc] as number)) << (d >>> 16))) << k;
      k += (d >>> 16) + (DIST_EXTRA[dc] as number);
    }
    for (; k >= 8; k -= 8, acc >>>= 8) out[o++] = acc & 0xff;
  }
  const eob = litLen[256] as number;
  acc |= (eob & 0xffff) << k;
  k += eob >>> 16;
  for (; k > 0; k -= 8, acc >>>= 8) out[o++] = acc & 0xff;
  const n = data.length;
  let end = o;
  if (end - 10 > n + 5) {
    // Stored instead: BFINAL 1, BTYPE 0, LEN, NLEN, the bytes.
    out[10] = 1;
    out[11] = n & 0xff;
    out[12] = n >>> 8;
    out[13] = ~n & 0xff;
    out[14] = (~n >>> 8) & 0xff;
    out.set(data, 15);
    end = 15 + n;
  }
  const member = Buffer.allocUnsafe(end + 8);
  member.set(GZIP_HEAD, 0);
  member.set(out.subarray(10, end), 10);
  member.writeUInt32LE(crc32(data), end);
  member.writeUInt32LE(n, end + 4);
  return member;
}

// Records over SMALL_MAX (a page's response) go through zlib. gzipSync builds a zlib stream for
// every call and tears it down again — a Transform, a 16 KB output buffer, deflateInit's ≈ 270 KB
// of state allocated, zeroed and freed — which cost ≈ 20–30 µs of CPU a page in crawls of the
// archive benchmark (against a kept stream, both on every batch of the same crawl; ≈ 9 µs in a
// loop, where malloc keeps reusing the same memory). A ReusedGzip keeps one stream for the thread
// and resets it between members. Node has no public API for that, so it drives the stream's
// native handle as Node's own gzipSync does (lib/zlib.js processChunkSync:
// `_handle.writeSync(flush, in, inOff, inLen, out, outOff, outLen)`, what is left of the output
// and the input read back from `_writeState`; internals zlib.js has used since Node 10). It is
// used only where they are there and a self-test gunzips back what it wrote; anywhere else (another
// runtime, a Node that changed them), gzipSync writes the same records.

/** A gzip stream kept for this thread's life; each {@link member} call writes one whole member. */
interface ReusedGzip {
  /** The chunks, in order, as one gzip member (level {@link GZIP_LEVEL}); null if zlib failed (then use gzipSync). */
  member(chunks: readonly Uint8Array[]): Buffer | null;
}

/** The part of a Node zlib stream's native handle that gzipSync uses. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
  reset(): void;
}

/** undefined: not made yet; null: not available here (gzipSync instead). */
let reused: ReusedGzip | null | undefined;

/** This thread's {@link ReusedGzip}, made and self-tested on first use; null where it is not available. */
function reusedGzip(): ReusedGzip | null {
  if (reused !== undefined) return reused;
  reused = null;
  try {
    const made = makeReusedGzip();
    if (made === null) return null;
    // Two members, one of them bigger than the output buffer: each must gunzip back.
    const big = Buffer.alloc(200_000);
    for (let i = 0, x = 1; i < big.length; i++) {
      x = Math.imul(x, 1103515245) + 12345;
      big[i] = i % 3 === 0 ? 32 : x >>> 24;
    }
    const small = Buffer.from('WARC/1.1\r\nWARC-Type: response\r\n\r\n', 'latin1');
    const a = made.member([small, big]);
    const b = made.member([small]);
    if (a === null || b === null) return null;
    if (!gunzipSync(a).equals(Buffer.concat([small, big])) || !gunzipSync(b).equals(small)) return null;
    reused = made;
  } catch {
    reused = null;
  }
  return reused;
}

/** Whether this thread gzips big records through a ReusedGzip (else gzipSync, which writes the same records at a higher CPU cost); for tests. */
export function usesReusedGzip(): boolean {
  return reusedGzip() !== null;
}

/** A ReusedGzip over a new zlib Gzip stream's handle, or null when the stream has no such handle. */
function makeReusedGzip(): ReusedGzip | null {
  const stream = createGzip(GZIP_OPTIONS);
  // A zlib error destroys the stream and emits 'error': heard here, seen as `destroyed` below.
  stream.on('error', () => {});
  const internals = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
  const handle = internals._handle;
  const state = internals._writeState;
  if (
    typeof handle?.writeSync !== 'function' ||
    typeof handle.reset !== 'function' ||
    !(state instanceof Uint32Array) ||
    state.length !== 2
  )
    return null;
  const h = handle as ZlibHandle;
  // What writeSync leaves in `state`: [output bytes still free, input bytes not consumed].
  const out = Buffer.allocUnsafeSlow(64 * 1024);
  return {
    member(chunks) {
      if (stream.destroyed) return null;
      h.reset();
      const done: Buffer[] = [];
      let used = 0;
      for (let c = 0; c < chunks.length; c++) {
        const input = chunks[c] as Uint8Array;
        const flush = c === chunks.length - 1 ? constants.Z_FINISH : constants.Z_NO_FLUSH;
        if (input.length === 0 && flush === constants.Z_NO_FLUSH) continue;
        let inOff = 0;
        for (;;) {
          const inLen = input.length - inOff;
          const free = out.length - used;
          h.writeSync(flush, input, inOff, inLen, out, used, free);
          if (stream.destroyed) return null;
          used += free - (state[0] as number);
          inOff += inLen - (state[1] as number);
          if (used === out.length) {
            // Output buffer full: keep its bytes, and go on (zlib may have more of this input).
            done.push(Buffer.from(out));
            used = 0;
            continue;
          }
          // Room left: zlib took all of the input, and with Z_FINISH the member is complete.
          break;
        }
      }
      const last = Buffer.allocUnsafe(used);
      out.copy(last, 0, 0, used);
      if (done.length === 0) return last;
      done.push(last);
      return Buffer.concat(done);
    },
  };
}
