import { createHash } from 'node:crypto';

/**
 * The content hash a recrawl compares (and the state keeps): base64 SHA-1 of the decompressed
 * body. SHA-1 is fast (about 12 µs for 20 KB here) and collisions between two versions of one
 * page are not a threat model a change check has; an empty body hashes like any other.
 */
export function bodyHash(body: Uint8Array): string {
  return createHash('sha1').update(body).digest('base64');
}
