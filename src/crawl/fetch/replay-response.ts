import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../exchange.js';

/** A response head's parts: status, reason phrase and header lines in received order. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** [name as received, value] per header line. */
  headers: [string, string][];
}

/**
 * Parses an HTTP/1.x response head (`HTTP/1.1 200 OK\r\nName: value\r\n...\r\n\r\n`, latin1) as
 * stored in an Exchange. Lines without a colon are skipped; values are trimmed of surrounding
 * whitespace; a status line that does not start with `HTTP/` gives status 0.
 */
export function parseResponseHead(head: Buffer): ResponseHead {
  const lines = head.toString('latin1').split('\r\n');
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  const headers: [string, string][] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon), line.slice(colon + 1).trim()]);
  }
  return { status: m === null ? 0 : Number(m[1]), statusText: m?.[2] ?? '', headers };
}

type Body = Dispatcher.ResponseData['body'];

/**
 * A stored exchange as the response undici's `request()` would give for it: status, headers with
 * lower-case names (a repeated header as an array, as undici does) and a body stream of the stored
 * bytes, with undici's `dump()`. fetchPage reads it exactly as it reads a live response, so a
 * replayed page goes through the same redirect, decompression and decoding steps.
 */
export function replayResponse(
  ex: Exchange,
): Pick<Dispatcher.ResponseData, 'statusCode' | 'headers' | 'body'> {
  const head = parseResponseHead(ex.responseHead);
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of head.headers) {
    const k = name.toLowerCase();
    const prev = headers[k];
    if (prev === undefined) headers[k] = k === 'set-cookie' ? [value] : value;
    else headers[k] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return { statusCode: ex.status, headers, body: bodyOf(ex.responseBody) };
}

/** A body stream of `bytes` with undici's `dump()`. */
function bodyOf(bytes: Buffer): Body {
  const stream = Readable.from(bytes.length > 0 ? [bytes] : [], { objectMode: false });
  const body = Object.assign(stream, {
    async dump(): Promise<void> {
      stream.destroy();
    },
  });
  return body as unknown as Body;
}

/** An empty response body stream, as undici's `request()` gives one (with `dump()`). */
export function emptyBody(): Body {
  return bodyOf(Buffer.alloc(0));
}
