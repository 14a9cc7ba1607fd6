/**
 * Reading WARC files back with warcio.js (the independent reader) for the WARC tests: every
 * record with its block, payload (chunking undone by warcio's own de-chunker) and content, and
 * SHA-1 digests computed here, in WARC's `sha1:<base32>` form.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { expect } from 'vitest';
import { AsyncIterReader, WARCParser, type WARCRecord } from 'warcio';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** RFC 4648 base32, written independently of the code under test. */
export function b32(buf: Buffer): string {
  const bits = [...buf].map((b) => b.toString(2).padStart(8, '0')).join('');
  let out = '';
  for (let i = 0; i < bits.length; i += 5)
    out += B32[Number.parseInt(bits.slice(i, i + 5).padEnd(5, '0'), 2)];
  return out;
}
export const sha1 = (b: Uint8Array) => `sha1:${b32(createHash('sha1').update(b).digest())}`;

export interface Parsed {
  type: string;
  warc: Headers;
  /** The whole block as warcio reads it with parseHttp off. */
  block: Buffer;
  status: number | string | undefined;
  method: string | undefined;
  http: Headers | null;
  /** The payload as warcio hands it over (transfer coding still on). */
  raw: Buffer;
  /** The payload with the chunked transfer coding undone by warcio's own de-chunker. */
  payload: Buffer;
  /** The content as warcio decodes it (chunking and content coding undone). */
  content: Buffer;
}

export async function parse(file: string): Promise<Parsed[]> {
  const data = fs.readFileSync(file);
  const blocks: Buffer[] = [];
  for await (const r of new WARCParser([data], { parseHttp: false }))
    blocks.push(Buffer.from(await r.readFully()));
  const out: Parsed[] = [];
  for await (const r of new WARCParser([data])) {
    const rec = r as WARCRecord;
    const raw = Buffer.from(await rec.readFully(false));
    const http = rec.httpHeaders;
    const headers = (http?.headers ?? null) as Headers | null;
    const chunked = headers?.get('transfer-encoding') === 'chunked';
    const payload = chunked ? Buffer.from(await new AsyncIterReader([raw], null, true).readFully()) : raw;
    const content = http !== null ? Buffer.from(await rec.readFully(true)) : raw;
    out.push({
      type: rec.warcType,
      warc: rec.warcHeaders.headers as Headers,
      block: blocks[out.length] as Buffer,
      status: rec.warcType === 'request' ? undefined : http?.statusCode,
      method: rec.warcType === 'request' ? http?.method : undefined,
      http: headers,
      raw,
      payload,
      content,
    });
  }
  expect(out).toHaveLength(blocks.length);
  return out;
}
