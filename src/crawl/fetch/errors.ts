/**
 * Why a page fetch failed, as one closed set of kinds. The kind is what the retry policy and the
 * crawl's error column look at; the message carries the human detail.
 */
export type FetchErrorKind =
  | 'timeout'
  | 'network'
  | 'dns'
  | 'tls'
  | 'refused'
  | 'reset'
  | 'too-large'
  | 'decode'
  | 'redirect-loop'
  | 'too-many-redirects'
  | 'redirect-blocked'
  | 'bad-url'
  | 'aborted'
  | 'http'
  // The SSRF guard refused the host's address (ssrf.ts); never retried.
  | 'ssrf'
  // The proxy failed or reported the target unreachable (proxy-connect.ts ProxyError).
  | 'proxy'
  // Chromium could not render the page (engine/rendering.ts): `code` says how — 'timeout'
  // (never settled), 'crash' (its tab or browser died), 'navigation' (the browser's own error).
  | 'render';

/** Extra facts a FetchError may carry. */
export interface FetchErrorInit {
  /** HTTP status, for kind 'http' (and set on others when a response had arrived). */
  status?: number;
  /** The underlying error (undici / Node / zlib error, or an abort reason). */
  cause?: unknown;
  /** The Node/undici error code that decided the kind, e.g. 'ECONNREFUSED', 'EAI_AGAIN'. */
  code?: string;
}

/**
 * A failed page fetch. `message` has the form `<kind>: <detail>` (for example
 * `timeout: no response within 5000 ms`), which is exactly what the crawl stores in a record's
 * `error` column. `url` is the URL whose request failed (for a redirect failure, the hop that was
 * refused or looped, see the message). `code` keeps the low-level error code when one decided the
 * kind, so that policy can distinguish e.g. EAI_AGAIN (temporary) from ENOTFOUND (permanent).
 */
export class FetchError extends Error {
  override readonly name = 'FetchError';
  readonly kind: FetchErrorKind;
  readonly url: string;
  status?: number;
  code?: string;

  constructor(kind: FetchErrorKind, url: string, detail: string, init: FetchErrorInit = {}) {
    super(`${kind}: ${detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = kind;
    this.url = url;
    if (init.status !== undefined) this.status = init.status;
    if (init.code !== undefined) this.code = init.code;
  }
}

/** Reads a string `code` property from an unknown thrown value, or undefined. */
function codeOf(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

/**
 * Maps one low-level error code to a kind and a short detail, or null when the code is not one we
 * know (the caller then falls back to 'network'). Decompression codes (zlib `Z_*`, `ERR_ZLIB_*`,
 * brotli `ERR_BROTLI_*`/`ERR__ERROR_FORMAT_*`-style codes) map to 'decode'.
 */
function kindForCode(code: string): { kind: FetchErrorKind; detail: string } | null {
  switch (code) {
    case 'ECONNREFUSED':
      return { kind: 'refused', detail: 'connection refused' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return { kind: 'reset', detail: 'connection closed by peer' };
    case 'ENOTFOUND':
      return { kind: 'dns', detail: 'host not found' };
    case 'EAI_AGAIN':
      return { kind: 'dns', detail: 'temporary DNS failure' };
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return { kind: 'timeout', detail: 'connect timed out' };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { kind: 'timeout', detail: 'response headers timed out' };
    case 'UND_ERR_BODY_TIMEOUT':
      return { kind: 'timeout', detail: 'response body stalled' };
    case 'UND_ERR_HEADERS_OVERFLOW':
      return { kind: 'network', detail: 'response headers too large' };
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return { kind: 'network', detail: 'response body length does not match Content-Length' };
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return { kind: 'too-large', detail: 'response exceeded the agent size limit' };
    case 'UND_ERR_INVALID_ARG':
      return { kind: 'bad-url', detail: 'request rejected by the HTTP client' };
  }
  if (
    TLS_CODES.has(code) ||
    code.startsWith('CERT_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_')
  ) {
    return { kind: 'tls', detail: 'TLS failure' };
  }
  if (code.startsWith('HPE_')) return { kind: 'network', detail: 'malformed HTTP response' };
  if (
    code.startsWith('Z_') ||
    code.startsWith('ERR_ZLIB') ||
    code.startsWith('ERR_BROTLI') ||
    code.startsWith('ERR__ERROR')
  ) {
    return { kind: 'decode', detail: 'invalid compressed body' };
  }
  return null;
}

/**
 * Turns anything thrown while fetching `url` into a FetchError. A FetchError passes through
 * unchanged. Otherwise the error and its `cause` chain (undici wraps some socket errors) are
 * searched for the first code kindForCode knows; the kind comes from that code and the message is
 * `<kind>: <detail> (<code>: <original message>)`; a proxy's ProxyError (anywhere in the chain,
 * before the socket error it wraps) is kind 'proxy' with its own message. Unknown errors become
 * kind 'network'. This does
 * not know about aborts: fetchPage decides 'timeout'/'aborted' itself before calling this, because
 * only it knows which signal fired.
 */
export function classifyError(err: unknown, url: string): FetchError {
  if (err instanceof FetchError) return err;
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth++) {
    const code = codeOf(cur);
    // A proxy's failure names the proxy (its display, never credentials), not the socket error
    // under it: `proxy: http://127.0.0.1:3128: connection refused`.
    if (code === 'ERR_TRAWL_PROXY') {
      const detail = messageOf(cur).replace(/^proxy /, '');
      return new FetchError('proxy', url, detail, { cause: err, code });
    }
    if (code !== undefined) {
      const hit = kindForCode(code);
      if (hit !== null) {
        return new FetchError(hit.kind, url, `${hit.detail} (${code}: ${messageOf(cur)})`, {
          cause: err,
          code,
        });
      }
    }
    // undici's HTTPParserError sometimes carries no code (e.g. a status line that is not HTTP).
    if (cur instanceof Error && cur.name === 'HTTPParserError') {
      return new FetchError('network', url, `malformed HTTP response (${messageOf(cur)})`, { cause: err });
    }
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  const code = codeOf(err);
  return new FetchError('network', url, code ? `${code}: ${messageOf(err)}` : messageOf(err), {
    cause: err,
    ...(code === undefined ? {} : { code }),
  });
}
