import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import { smallMember, usesReusedGzip } from '../../src/crawl/store/gzip-member.js';
import {
  newRecordId,
  payloadDigest,
  serializeBatch,
  sha1Digest,
  type WarcEntry,
  warcinfoRecord,
} from '../../src/crawl/store/warc-record.js';

/** The gzip members of `file`, split where each one's deflate stream and 8-byte trailer end. */
function members(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < file.length; ) {
    // No optional header fields (FLG 0), so the deflate stream starts at byte 10.
    expect([...file.subarray(at, at + 4)]).toEqual([0x1f, 0x8b, 8, 0]);
    const { engine } = zlib.inflateRawSync(file.subarray(at + 10), { info: true }) as unknown as {
      engine: { bytesWritten: number };
    };
    const end = at + 10 + engine.bytesWritten + 8;
    out.push(file.subarray(at, end));
    at = end;
  }
  return out;
}

function exchange(body: Buffer, head = 'HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n'): Exchange {
  return {
    url: 'https://example.com/a/page?x=1',
    date: Date.UTC(2026, 0, 2, 3, 4, 5),
    ip: '127.0.0.1',
    requestHead: Buffer.from(
      'GET /a/page?x=1 HTTP/1.1\r\nhost: example.com\r\nuser-agent: trawl-test/1\r\naccept-encoding: gzip, deflate, br\r\n\r\n',
      'latin1',
    ),
    requestBody: null,
    responseHead: Buffer.from(head, 'latin1'),
    status: 200,
    responseBody: body,
  };
}

describe('smallMember: a small record as one gzip member without zlib', () => {
  it('gunzips back to the bytes, whatever they are', () => {
    const inputs = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from([...Array(256).keys()]),
      Buffer.alloc(2048, 0),
      Buffer.alloc(2048, 0xff),
      Buffer.from('abc'.repeat(600)),
      Buffer.from('WARC/1.1\r\nWARC-Type: request\r\n'.repeat(60).slice(0, 2048)),
    ];
    for (let i = 0; i < 300; i++) inputs.push(randomBytes(Math.floor(Math.random() * 2049)));
    for (let i = 0; i < 300; i++) {
      // Text with repeats at every distance and length, the parse's matches.
      const words = ['WARC-', '<urn:uuid:', '\r\n', 'sha1:', 'http://', 'a', 'b'];
      let t = '';
      while (t.length < 2048) t += words[Math.floor(Math.random() * words.length)];
      inputs.push(Buffer.from(t.slice(0, Math.floor(Math.random() * 2049)), 'latin1'));
    }
    for (const input of inputs) {
      const member = smallMember(input);
      expect(zlib.gunzipSync(member).equals(input)).toBe(true);
      // Never bigger than the bytes stored: a header, a stored block's 5 bytes, a trailer.
      expect(member.length).toBeLessThanOrEqual(10 + 5 + input.length + 8);
      expect(members(member)).toHaveLength(1);
    }
  });

  it('compresses record text, and refuses more than 2 KiB', () => {
    const batch = serializeBatch({
      head: null,
      entries: [{ type: 'exchange', exchange: exchange(Buffer.from('hi')) }],
      warcinfoId: newRecordId(),
      gzip: false,
    });
    const request = batch.subarray(batch.indexOf('WARC/1.1\r\nWARC-Type: request'));
    expect(request.length).toBeGreaterThan(600);
    expect(smallMember(request).length).toBeLessThan(request.length * 0.8);
    expect(() => smallMember(Buffer.alloc(2049))).toThrow(RangeError);
  });
});

describe('serializeBatch .warc.gz', () => {
  it('gives an empty payload the SHA-1 of no bytes', () => {
    expect(payloadDigest(Buffer.alloc(0))).toBe(sha1Digest([Buffer.alloc(0)]));
    expect(payloadDigest(new Uint8Array(0))).toBe(sha1Digest([new Uint8Array(1).subarray(1)]));
  });

  it('gzips big records with a kept zlib stream on this Node', () => {
    expect(usesReusedGzip()).toBe(true);
  });

  it('writes each record as its own gzip member: the plain records, in order', () => {
    const bodies = [
      Buffer.alloc(0),
      Buffer.from('<p>small</p>'),
      Buffer.from('<p>page</p>'.repeat(2000)),
      randomBytes(300_000), // compresses to more than one output buffer
      randomBytes(3000),
    ];
    const entries: WarcEntry[] = bodies.map((b, i) => ({
      type: 'exchange',
      exchange: exchange(b, i === 2 ? 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n' : undefined),
      id: newRecordId(),
    }));
    entries.push({
      type: 'revisit',
      exchange: { ...exchange(Buffer.alloc(0), 'HTTP/1.1 304 Not Modified\r\n\r\n'), status: 304 },
      profile: 'server-not-modified',
      refersTo: { uri: 'https://example.com/a/page?x=1', date: Date.UTC(2026, 0, 1) },
    });
    const head = warcinfoRecord({
      id: newRecordId(),
      date: Date.now(),
      filename: 'x.warc.gz',
      software: 'test',
    });
    for (let round = 0; round < 3; round++) {
      const gz = serializeBatch({ head, entries, warcinfoId: '<urn:uuid:x>', gzip: true });
      const records = members(gz).map((m) => zlib.gunzipSync(m));
      expect(records).toHaveLength(1 + 2 * entries.length);
      expect(records[0]?.equals(head)).toBe(true);
      for (const r of records) {
        expect(r.subarray(0, 10).toString('latin1')).toBe('WARC/1.1\r\n');
        const headEnd = r.indexOf('\r\n\r\n') + 4;
        const length = Number(
          /\r\nContent-Length: (\d+)\r\n/.exec(r.subarray(0, headEnd).toString('latin1'))?.[1],
        );
        expect(r.length).toBe(headEnd + length + 4);
        expect(r.subarray(r.length - 4).toString('latin1')).toBe('\r\n\r\n');
      }
      // The same records as a plain .warc (request record ids are new on every call).
      const plain = serializeBatch({ head, entries, warcinfoId: '<urn:uuid:x>', gzip: false });
      const ids = /<urn:uuid:[0-9a-f-]{36}>/g;
      expect(Buffer.concat(records).toString('latin1').replace(ids, 'ID')).toBe(
        plain.toString('latin1').replace(ids, 'ID'),
      );
    }
  });
});
