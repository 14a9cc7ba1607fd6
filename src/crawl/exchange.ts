/**
 * One HTTP request and its response as they crossed the wire: what the WARC writer archives and
 * the HTTP cache stores and replays. A fetch with redirects is several exchanges, one per hop.
 *
 * "As on the wire" has one exception: undici removes the chunked transfer coding before handing
 * the body over, so `responseBody` is the message body with its transfer coding undone but its
 * content coding (gzip, br...) intact — the bytes a `Content-Encoding` header describes, not yet
 * decompressed. `responseHead` still says `Transfer-Encoding: chunked` when the server said so;
 * writers that need a self-consistent message (WARC) re-chunk the body.
 */
export interface Exchange {
  /** The absolute URL of this hop (fragment removed). */
  url: string;
  /** When the request was sent, in ms since the epoch. */
  date: number;
  /** The peer's IP address (the proxy's when one was used), or null when unknown. */
  ip: string | null;
  /**
   * The request line and headers as sent, each line ending in CRLF and the head ending in an empty
   * line: `GET /path HTTP/1.1\r\nhost: example.com\r\n...\r\n\r\n` (latin1).
   */
  requestHead: Buffer;
  /** The request body as sent (a form POST's), or null for none. */
  requestBody: Buffer | null;
  /**
   * The status line and headers as received, names in their received case and order, the head
   * ending in an empty line: `HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n...\r\n\r\n` (latin1).
   */
  responseHead: Buffer;
  /** The response status code (also in responseHead). */
  status: number;
  /**
   * The body as received: transfer coding removed, content coding kept (see above). It may be a
   * view into a larger buffer (the wire tap keeps undici's chunk when the body came in one read
   * with its head), so whoever moves its memory to a thread must check it owns all of it.
   */
  responseBody: Buffer;
  /**
   * Set when `responseBody` is not the whole body, with WARC-Truncated's vocabulary: 'length' when
   * reading stopped at a size cap, 'time' at the deadline, 'disconnect' when the connection ended
   * early, 'unspecified' otherwise.
   */
  truncated?: 'length' | 'time' | 'disconnect' | 'unspecified';
}
