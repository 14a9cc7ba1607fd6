/**
 * RFC 9110 §13 conditional GET/HEAD for the test site: decides whether a request's
 * `If-None-Match` / `If-Modified-Since` make the answer `304 Not Modified`. Pure (headers in,
 * boolean out), so the precedence rules are testable without a server.
 */
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Whether a GET or HEAD request with `headers` should be answered `304 Not Modified` for a
 * representation whose strong entity-tag is `etag` (with its quotes, e.g. `"abc"`) and whose
 * last modification is `lastModifiedMs` (ms since the epoch; compared at whole seconds, the
 * resolution of an HTTP-date). Follows RFC 9110 §13.2.2: when `If-None-Match` is present it
 * alone decides — true if it is `*` or lists an entity-tag that matches `etag` by the weak
 * comparison (§8.8.3.2: `W/"x"` matches `"x"`), and `If-Modified-Since` is then ignored even
 * if it would say "modified". Otherwise `If-Modified-Since` decides: true if it is one valid
 * HTTP-date not earlier than the last modification. An unparseable `If-Modified-Since` is
 * ignored (false); a malformed `If-None-Match` lists no tag and so matches nothing (false).
 * Other methods never get a 304; the caller only asks for GET and HEAD.
 */
export function isNotModified(headers: IncomingHttpHeaders, etag: string, lastModifiedMs: number): boolean {
  const inm = headers['if-none-match'];
  if (inm !== undefined) return noneMatchHits(inm, etag);
  const ims = headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  // Only one HTTP-date is valid (IMF-fixdate contains a comma, so a list cannot be split
  // safely; Date.parse rejects a joined pair anyway).
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModifiedMs / 1000) * 1000 <= since;
}

/** Whether an `If-None-Match` value (`*` or a list of entity-tags) matches `etag` weakly. */
function noneMatchHits(value: string, etag: string): boolean {
  if (value.trim() === '*') return true;
  const opaque = etag.startsWith('W/') ? etag.slice(2) : etag;
  // An entity-tag may contain commas, so tags are scanned rather than split on ','.
  for (const m of value.matchAll(/(?:W\/)?("[^"]*")/g)) {
    if (m[1] === opaque) return true;
  }
  return false;
}
