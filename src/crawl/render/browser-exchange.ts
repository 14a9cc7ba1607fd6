import type { Request, Response } from 'playwright-core';
import type { Exchange } from '../exchange.js';

/** Response headers that describe the bytes on the wire, which Chromium no longer hands over. */
const WIRE_FRAMING = new Set(['content-encoding', 'transfer-encoding', 'content-length']);

/**
 * One request and response of a rendered page as an Exchange (for WARC), from what Chromium
 * reports through Playwright: the request's method, path and headers, its body; the response's
 * status line and headers in Chromium's order, and with `withBody` its body. Chromium gives the
 * body decoded (gzip and chunking undone), so the head drops Content-Encoding, Transfer-Encoding
 * and Content-Length and says `Content-Length` of the decoded body instead: the record is a
 * self-consistent HTTP message, not the bytes on the wire (a plain fetch archives those). The IP
 * is the address Chromium connected to (the crawl's guard proxy for plain http). A body Chromium
 * no longer has (evicted, or a redirect) is empty and marked truncated 'unspecified'.
 */
export async function exchangeOfResponse(res: Response, withBody: boolean): Promise<Exchange> {
  const req = res.request();
  const url = new URL(req.url());
  url.hash = '';
  const [reqHeaders, resHeaders, addr] = await Promise.all([
    req.headersArray(),
    res.headersArray(),
    res.serverAddr().catch(() => null),
  ]);
  let body: Buffer = Buffer.alloc(0);
  let truncated = false;
  if (withBody) {
    try {
      body = await res.body();
    } catch {
      truncated = true;
    }
  }
  const requestBody = req.postDataBuffer();
  let head = `${req.method()} ${url.pathname}${url.search} HTTP/1.1\r\n`;
  if (!reqHeaders.some((h) => h.name.toLowerCase() === 'host')) head += `Host: ${url.host}\r\n`;
  for (const h of reqHeaders) head += `${h.name}: ${h.value}\r\n`;
  head += '\r\n';
  let resHead = `HTTP/1.1 ${res.status()} ${res.statusText()}\r\n`;
  for (const h of resHeaders)
    if (!WIRE_FRAMING.has(h.name.toLowerCase())) resHead += `${h.name}: ${h.value}\r\n`;
  if (withBody || body.length > 0) resHead += `Content-Length: ${body.length}\r\n`;
  resHead += '\r\n';
  const ex: Exchange = {
    url: url.href,
    date: startOf(req),
    ip: addr?.ipAddress ?? null,
    requestHead: Buffer.from(head, 'latin1'),
    requestBody: requestBody !== null && requestBody.length > 0 ? requestBody : null,
    responseHead: Buffer.from(resHead, 'latin1'),
    status: res.status(),
    responseBody: body,
  };
  if (truncated) ex.truncated = 'unspecified';
  return ex;
}

/** When the request was sent (ms since the epoch); now when Chromium gave no timing. */
function startOf(req: Request): number {
  const t = req.timing().startTime;
  return t > 0 ? Math.round(t) : Date.now();
}

/**
 * The exchanges of a rendered page for WARC: each redirect hop of the main document (bodiless, as
 * their bodies were dropped), the document itself, then the sub-resources it loaded (`loaded`,
 * responses Chromium saw during the render, in order; whatever `--render-resources` let through),
 * except those whose details Chromium does not give within a second (see SUBRESOURCE_MS).
 */
export async function renderExchanges(main: Response, loaded: readonly Response[]): Promise<Exchange[]> {
  const chain: Response[] = [];
  for (let r = main.request().redirectedFrom(); r !== null; r = r.redirectedFrom()) {
    const hop = await r.response();
    if (hop !== null) chain.unshift(hop);
  }
  const out: Exchange[] = [];
  for (const hop of chain) out.push(await exchangeOfResponse(hop, false));
  out.push(await exchangeOfResponse(main, true));
  const own = new Set<Request>([main.request(), ...chain.map((h) => h.request())]);
  const rest = await Promise.all(
    loaded
      .filter((r) => !own.has(r.request()))
      .map((r) => within(exchangeOfResponse(r, true), SUBRESOURCE_MS)),
  );
  for (const ex of rest) if (ex !== null) out.push(ex);
  return out;
}

/**
 * How long a sub-resource's details may take. Through the crawl's guard proxy Chromium never
 * reports the raw headers of a request the proxy refused, and Playwright then waits for them
 * forever: such a sub-resource is left out of the archive rather than stalling the page.
 */
const SUBRESOURCE_MS = 1000;

/** `p`'s value, or null when it takes longer than `ms` (or fails). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    return await Promise.race([p.catch(() => null), late]);
  } finally {
    clearTimeout(timer);
  }
}
