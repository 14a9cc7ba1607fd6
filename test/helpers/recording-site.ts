/**
 * A tiny HTML site on 127.0.0.1 that records every request it gets (method, path with query,
 * headers), for tests that check what the CLI asked for — and that it asked for nothing at all
 * when it should refuse before any request.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the site received. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent, e.g. `/p?x=1`. */
  target: string;
  headers: IncomingHttpHeaders;
}

/** A running recording site. */
export interface RecordingSite {
  /** Base URL with trailing slash. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: RecordedRequest[];
  /** The request targets other than /robots.txt, in arrival order. */
  pages(): string[];
  close(): Promise<void>;
}

/**
 * Starts the site. `pages` maps a path (without query) to its HTML body, served 200 as
 * text/html; `redirects` maps a path to a Location answered with 302; anything else is 404
 * (robots.txt included, so every path is allowed).
 */
export async function startRecordingSite(
  pages: Record<string, string>,
  redirects: Record<string, string> = {},
): Promise<RecordingSite> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const target = req.url ?? '/';
    requests.push({ method: req.method ?? 'GET', target, headers: req.headers });
    const path = target.split('?')[0]!;
    const location = redirects[path];
    if (location !== undefined) {
      res.writeHead(302, { location, 'content-length': '0' }).end();
      return;
    }
    const body = pages[path];
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(body);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    pages: () => requests.map((r) => r.target).filter((t) => t !== '/robots.txt'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
