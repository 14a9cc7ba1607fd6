import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodedChunks,
  decodeText,
  isTextMime,
  looksLikeZlib,
  parseContentEncoding,
  parseContentType,
  prescanMetaCharset,
  resolveEncoding,
  sniffBom,
  sniffMime,
  UNSUPPORTED_ENCODING_CODE,
  xmlDeclEncoding,
} from '../../src/crawl/fetch/decode.js';

async function* chunksOf(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('parseContentType', () => {
  it('splits essence and charset, case-insensitively, with quotes', () => {
    expect(parseContentType('Text/HTML; Charset="Shift_JIS"')).toEqual({
      mime: 'text/html',
      charset: 'Shift_JIS',
    });
    expect(parseContentType('application/xhtml+xml;charset=utf-8')).toEqual({
      mime: 'application/xhtml+xml',
      charset: 'utf-8',
    });
    expect(parseContentType('text/plain; format=flowed')).toEqual({ mime: 'text/plain', charset: null });
  });
  it('gives nulls for absent or malformed values', () => {
    expect(parseContentType(undefined)).toEqual({ mime: null, charset: null });
    expect(parseContentType('')).toEqual({ mime: null, charset: null });
    expect(parseContentType('html')).toEqual({ mime: null, charset: null });
    expect(parseContentType('text/html; charset=')).toEqual({ mime: 'text/html', charset: null });
  });
});

describe('isTextMime / sniffMime / sniffBom', () => {
  it('classifies text types', () => {
    for (const m of [
      'text/html',
      'text/plain',
      'application/xml',
      'application/rss+xml',
      'application/json',
    ]) {
      expect(isTextMime(m)).toBe(true);
    }
    for (const m of ['image/png', 'application/pdf', 'application/octet-stream'])
      expect(isTextMime(m)).toBe(false);
    expect(isTextMime(null)).toBe(false);
  });
  it('sniffs HTML and XML openers only', () => {
    expect(sniffMime(ascii('\n  <!DOCTYPE html>'))).toBe('text/html');
    expect(sniffMime(ascii('<HTML lang="en">'))).toBe('text/html');
    expect(sniffMime(ascii('<p>hi'))).toBe('text/html');
    expect(sniffMime(ascii('<?xml version="1.0"?><urlset/>'))).toBe('text/xml');
    expect(sniffMime(ascii('<pre'))).toBeNull();
    expect(sniffMime(ascii('%PDF-1.4'))).toBeNull();
    expect(sniffMime(Buffer.from([0xef, 0xbb, 0xbf, 0x3c, 0x62, 0x3e]))).toBe('text/html');
  });
  it('recognises the three BOMs', () => {
    expect(sniffBom(Buffer.from([0xef, 0xbb, 0xbf, 0x41]))).toEqual({ encoding: 'utf-8', length: 3 });
    expect(sniffBom(Buffer.from([0xfe, 0xff]))).toEqual({ encoding: 'utf-16be', length: 2 });
    expect(sniffBom(Buffer.from([0xff, 0xfe]))).toEqual({ encoding: 'utf-16le', length: 2 });
    expect(sniffBom(Buffer.from([0xef, 0xbb]))).toBeNull();
  });
});

describe('resolveEncoding', () => {
  it('maps labels to WHATWG names and rejects unknown ones', () => {
    expect(resolveEncoding('latin1')).toBe('windows-1252');
    expect(resolveEncoding('ISO-8859-1')).toBe('windows-1252');
    expect(resolveEncoding('us-ascii')).toBe('windows-1252');
    expect(resolveEncoding(' UTF8 ')).toBe('utf-8');
    expect(resolveEncoding('cp1251')).toBe('windows-1251');
    expect(resolveEncoding('sjis')).toBe('shift_jis');
    expect(resolveEncoding('no-such-charset')).toBeNull();
    expect(resolveEncoding(null)).toBeNull();
  });
});

describe('prescanMetaCharset', () => {
  it('finds <meta charset> in its forms', () => {
    expect(prescanMetaCharset(ascii('<meta charset=windows-1251>'))).toBe('windows-1251');
    expect(prescanMetaCharset(ascii("<META CHARSET='koi8-r'/>"))).toBe('koi8-r');
    expect(
      prescanMetaCharset(ascii('<meta http-equiv="content-type" content="text/html; charset=euc-kr">')),
    ).toBe('euc-kr');
    expect(prescanMetaCharset(ascii('<meta content="text/html;charset=gbk" http-equiv=Content-Type>'))).toBe(
      'gbk',
    );
  });
  it('skips comments, non-charset metas and unknown labels', () => {
    expect(prescanMetaCharset(ascii('<!-- <meta charset="koi8-r"> --><meta charset="iso-8859-2">'))).toBe(
      'iso-8859-2',
    );
    expect(
      prescanMetaCharset(ascii('<meta name="viewport" content="width=device-width"><meta charset=x-bogus>')),
    ).toBe(null);
    expect(prescanMetaCharset(ascii('<meta charset=x-bogus><meta charset=big5>'))).toBe('big5');
    expect(prescanMetaCharset(ascii('<meta content="text/html; charset=utf-8">'))).toBeNull();
    expect(prescanMetaCharset(ascii('<metadata charset=big5>'))).toBeNull();
  });
  it('turns a UTF-16 declaration into UTF-8 and looks only at the first 1024 bytes', () => {
    expect(prescanMetaCharset(ascii('<meta charset="utf-16le">'))).toBe('utf-8');
    expect(prescanMetaCharset(ascii(`${' '.repeat(1020)}<meta charset=big5>`))).toBeNull();
    expect(prescanMetaCharset(ascii(`${' '.repeat(990)}<meta charset=big5>`))).toBe('big5');
  });
  it('reads an XML declaration', () => {
    expect(xmlDeclEncoding(ascii('<?xml version="1.0" encoding="ISO-8859-5"?><a/>'))).toBe('iso-8859-5');
    expect(xmlDeclEncoding(ascii('<?xml version="1.0"?>'))).toBeNull();
  });
});

describe('decodeText', () => {
  const cp1251Privet = Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]); // "Привет"
  it('uses the header charset, then meta, then UTF-8', () => {
    expect(decodeText(cp1251Privet, { mime: 'text/html', headerCharset: 'windows-1251' })).toEqual({
      text: 'Привет',
      charset: 'windows-1251',
    });
    const html = Buffer.concat([ascii('<meta charset="windows-1251">'), cp1251Privet]);
    expect(decodeText(html, { mime: 'text/html', headerCharset: null }).text).toBe(
      '<meta charset="windows-1251">Привет',
    );
    // The header beats the meta tag.
    expect(decodeText(html, { mime: 'text/html', headerCharset: 'koi8-r' }).charset).toBe('koi8-r');
    // Meta prescan is for HTML only.
    expect(decodeText(html, { mime: 'text/plain', headerCharset: null }).charset).toBe('utf-8');
    expect(decodeText(Buffer.from('żółw'), { mime: 'text/plain', headerCharset: null })).toEqual({
      text: 'żółw',
      charset: 'utf-8',
    });
  });
  it('lets a BOM win over the header, and strips it', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hé', 'utf16le')]);
    expect(decodeText(utf16, { mime: 'text/html', headerCharset: 'windows-1252' })).toEqual({
      text: 'hé',
      charset: 'utf-16le',
    });
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('ok')]);
    expect(decodeText(utf8, { mime: 'text/plain', headerCharset: null }).text).toBe('ok');
  });
  it('falls back to UTF-8 for unknown labels and never throws on bad bytes', () => {
    const r = decodeText(Buffer.from([0x61, 0xff, 0x62, 0xe2, 0x82]), {
      mime: 'text/html',
      headerCharset: 'bogus',
    });
    expect(r).toEqual({ text: 'a\ufffdb\ufffd', charset: 'utf-8' });
  });
  it('decodes East Asian encodings (full ICU)', () => {
    const sjis = Buffer.from([0x82, 0xb1, 0x82, 0xf1, 0x82, 0xc9, 0x82, 0xbf, 0x82, 0xcd]);
    expect(decodeText(sjis, { mime: 'text/html', headerCharset: 'shift_jis' }).text).toBe('こんにちは');
    const euckr = Buffer.from([0xc7, 0xd1, 0xb1, 0xb9, 0xbe, 0xee]);
    expect(decodeText(euckr, { mime: 'text/html', headerCharset: 'euc-kr' }).text).toBe('한국어');
    const gb = Buffer.from([0xd6, 0xd0, 0xce, 0xc4]);
    expect(decodeText(gb, { mime: 'text/html', headerCharset: 'gb18030' }).text).toBe('中文');
  });
  it('uses the XML declaration for XML types', () => {
    const xml = Buffer.concat([ascii('<?xml version="1.0" encoding="windows-1251"?><t>'), cp1251Privet]);
    expect(decodeText(xml, { mime: 'application/xml', headerCharset: null }).text).toContain('<t>Привет');
  });
});

describe('parseContentEncoding / looksLikeZlib', () => {
  it('lists codings to undo, outermost first', () => {
    expect(parseContentEncoding('gzip')).toEqual(['gzip']);
    expect(parseContentEncoding('deflate, BR')).toEqual(['br', 'deflate']);
    expect(parseContentEncoding('identity')).toEqual([]);
    expect(parseContentEncoding(undefined)).toEqual([]);
  });
  it('tells zlib-wrapped from raw deflate', () => {
    expect(looksLikeZlib(zlib.deflateSync('abc'))).toBe(true);
    expect(looksLikeZlib(zlib.deflateSync('abc', { level: 1 }))).toBe(true);
    expect(looksLikeZlib(zlib.deflateRawSync('abc'))).toBe(false);
    expect(looksLikeZlib(Buffer.from([0x78]))).toBe(false);
  });
});

describe('decodedChunks', () => {
  const text = Buffer.from('decoded streaming body '.repeat(500));
  it('undoes each coding, also when the input arrives one byte at a time', async () => {
    const cases: [string, Buffer][] = [
      ['gzip', zlib.gzipSync(text)],
      ['deflate', zlib.deflateSync(text)],
      ['deflate', zlib.deflateRawSync(text)],
      ['br', zlib.brotliCompressSync(text)],
      ['identity', text],
      ['gzip, br', zlib.brotliCompressSync(zlib.gzipSync(text))],
    ];
    for (const [coding, wire] of cases) {
      expect(await collect(decodedChunks(chunksOf(wire, 1), coding))).toEqual(text);
      expect(await collect(decodedChunks(chunksOf(wire, 4096), coding))).toEqual(text);
    }
  });
  it('yields nothing for an empty compressed body', async () => {
    expect((await collect(decodedChunks(chunksOf(Buffer.alloc(0), 1), 'gzip'))).length).toBe(0);
  });
  it('throws zlib errors for corrupt or truncated data, and a coded error for unknown codings', async () => {
    const gz = zlib.gzipSync(text);
    await expect(
      collect(decodedChunks(chunksOf(gz.subarray(0, gz.length - 8), 100), 'gzip')),
    ).rejects.toMatchObject({
      code: 'Z_BUF_ERROR',
    });
    await expect(
      collect(decodedChunks(chunksOf(ascii('nope, not brotli'), 100), 'br')),
    ).rejects.toHaveProperty('code');
    await expect(collect(decodedChunks(chunksOf(text, 100), 'compress'))).rejects.toMatchObject({
      code: UNSUPPORTED_ENCODING_CODE,
    });
  });
  it('rethrows a source error unchanged', async () => {
    const boom = Object.assign(new Error('socket gone'), { code: 'UND_ERR_SOCKET' });
    async function* failing(): AsyncGenerator<Buffer> {
      yield zlib.gzipSync(text).subarray(0, 50);
      throw boom;
    }
    await expect(collect(decodedChunks(failing(), 'gzip'))).rejects.toBe(boom);
  });
  it('inflates lazily: stopping early leaves most of a bomb unread', async () => {
    const member = zlib.gzipSync(Buffer.alloc(10_000_000));
    let pulled = 0;
    async function* bomb(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 50; i++) {
        pulled++;
        yield member;
      }
    }
    let out = 0;
    for await (const c of decodedChunks(bomb(), 'gzip')) {
      out += c.length;
      if (out > 1_000_000) break;
    }
    // 50 members = 500 MB of output; backpressure means only the first few were ever pulled.
    expect(pulled).toBeLessThan(5);
  });
});
