import type { StoredSession } from './frontier.js';

/**
 * Checks a list about to be saved by `KeepsSessions.saveSessions` (frontier.ts): throws a TypeError naming
 * the first id that occurs twice (a set of sessions is keyed by id; storing either copy would
 * lose the other silently). The message names only the id, never a cookie.
 */
export function checkSessionIds(list: readonly StoredSession[]): void {
  const ids = new Set<string>();
  for (const s of list) {
    if (ids.has(s.id)) throw new TypeError(`saveSessions: session id ${JSON.stringify(s.id)} occurs twice`);
    ids.add(s.id);
  }
}

/**
 * The JSON a durable frontier stores for one session: the session's fields and its position
 * `pos` in the saved list (so a load returns the sessions in the order they were saved).
 */
export function storedSessionJson(s: StoredSession, pos: number): string {
  return JSON.stringify({
    id: s.id,
    cookies: s.cookies,
    proxy: s.proxy,
    retired: s.retired,
    loggedIn: s.loggedIn,
    requests: s.requests,
    pos,
  });
}

/**
 * Parses what {@link storedSessionJson} wrote back into a session and its position, checking
 * every field's type (a row written by something else must not hand the session pool a wrong
 * shape). Returns null for anything malformed — unparseable JSON, a missing or mistyped field,
 * an id other than `id` (the key it was stored under) — so the caller can report it naming the
 * id only: the value holds cookies and never appears in a message.
 */
export function parseStoredSession(id: string, json: string): { session: StoredSession; pos: number } | null {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const { cookies, proxy, retired, loggedIn, requests, pos } = o;
  if (o.id !== id) return null;
  if (cookies !== null && typeof cookies !== 'string') return null;
  if (proxy !== null && !(Number.isInteger(proxy) && (proxy as number) >= 0)) return null;
  if (typeof retired !== 'boolean' || typeof loggedIn !== 'boolean') return null;
  if (!Number.isInteger(requests) || (requests as number) < 0) return null;
  if (!Number.isInteger(pos)) return null;
  return {
    session: {
      id,
      cookies: cookies as string | null,
      proxy: proxy as number | null,
      retired,
      loggedIn,
      requests: requests as number,
    },
    pos: pos as number,
  };
}
