import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Exchange } from '../exchange.js';
import { parseHead } from './cache-policy.js';

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
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of parseHead(ex.responseHead).fields) {
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
