import { describe, expect, it } from 'vitest';
import type { NetscapeCookie } from '../../src/crawl/fetch/cookies-txt.js';
import {
  DEFAULT_BLOCK_CODES,
  randomSessionId,
  type Session,
  SessionPool,
  type SessionPoolOptions,
  type SessionSnapshot,
} from '../../src/crawl/fetch/session-pool.js';

const SITE = 'http://shop.example.com/';

const IMPORTED: NetscapeCookie[] = [
  {
    domain: 'shop.example.com',
    includeSubdomains: false,
    path: '/',
    secure: false,
    httpOnly: false,
    expires: 0,
    name: 'sid',
    value: 'imported',
  },
];

// Deterministic ids: s-1, s-2, ... so tests can name sessions.
function counterIds(): () => string {
  let n = 0;
  return () => `s-${++n}`;
}

// The jars' clock: fixed unless a test moves it, so saved JSON is comparable.
const T0 = Date.parse('2026-01-01T00:00:00Z');

function pool(opts: Partial<SessionPoolOptions> = {}): SessionPool {
  return new SessionPool({ size: 3, cookies: true, newId: counterIds(), now: () => new Date(T0), ...opts });
}

describe('SessionPool: round-robin', () => {
  it('spreads picks evenly over the live sessions, in rotation order', () => {
    const p = pool({ size: 3 });
    const ids = Array.from({ length: 9 }, () => p.pick().id);
    expect(ids).toEqual(['s-1', 's-2', 's-3', 's-1', 's-2', 's-3', 's-1', 's-2', 's-3']);
    for (const s of p.live()) expect(s.requests).toBe(3);
    expect(p.created).toBe(3);
  });

  it('keeps the rotation position of a retired session for its replacement', () => {
    const p = pool({ size: 3 });
    p.pick(); // s-1; the cursor is now on s-2
    p.retire('s-2', 'test');
    expect(p.live().map((s) => s.id)).toEqual(['s-1', 's-4', 's-3']);
    expect([p.pick().id, p.pick().id, p.pick().id]).toEqual(['s-4', 's-3', 's-1']);
  });

  it('pick(id) follows a session through its retirements and falls back to rotation for unknown ids', () => {
    const p = pool({ size: 2 });
    expect(p.pick('s-2').id).toBe('s-2');
    p.retire('s-2', 'test');
    expect(p.pick('s-2').id).toBe('s-3');
    expect(p.pick('nope').id).toBe('s-1');
  });
});

describe('SessionPool: retire', () => {
  it('replaces a session with a new id, the same slot and a fresh jar holding only the imported cookies', () => {
    const p = pool({ size: 2, importCookies: IMPORTED, proxies: 2 });
    const a = p.pick();
    expect(a.cookies?.header(SITE)).toBe('sid=imported');
    a.cookies?.store(SITE, ['own=1; Path=/']);
    a.loggedIn = true;
    expect(a.cookies?.header(SITE)).toContain('own=1');

    const b = p.retire(a, 'blocked');
    expect(b.id).not.toBe(a.id);
    expect(b.slot).toBe(a.slot);
    expect(b.retired).toBe(false);
    expect(b.loggedIn).toBe(false);
    expect(b.cookies).not.toBe(a.cookies);
    expect(b.cookies?.header(SITE)).toBe('sid=imported');
    expect(a.retired).toBe(true);
    expect(a.retiredReason).toBe('blocked');
    expect(a.replacement).toBe(b);
    expect(p.live()).not.toContain(a);
    expect(p.live()).toContain(b);
    expect(p.created).toBe(3);
    expect(p.retired).toBe(1);
  });

  it('retires once when two pages are blocked at once on one session', () => {
    const p = pool({ size: 2 });
    const a = p.pick();
    const first = p.retire(a.id, 'HTTP 403');
    const second = p.retire(a.id, 'HTTP 429');
    expect(second).toBe(first);
    expect(p.retired).toBe(1);
    expect(p.created).toBe(3);
    expect(p.live()).toHaveLength(2);
    expect(a.retiredReason).toBe('HTTP 403');
    // If the replacement was retired meanwhile, a late retire of the first gets the live end.
    const third = p.retire(first, 'HTTP 403');
    expect(p.retire(a, 'late')).toBe(third);
    expect(p.retired).toBe(2);
  });

  it('observe retires on block codes only and counts the blocks', () => {
    const p = pool({ size: 1 });
    const a = p.pick();
    expect(p.observe(a, 200)).toBeNull();
    expect(p.observe(a, 404)).toBeNull();
    expect(a.retired).toBe(false);
    const b = p.observe(a, 429);
    expect(b).not.toBeNull();
    expect(p.observe(a, 403)).toBe(b);
    expect(a.blocked).toBe(2);
    expect(a.retiredReason).toBe('blocked: HTTP 429');
    expect(p.retired).toBe(1);
  });

  it('refuses unknown ids and another pool’s sessions', () => {
    const p = pool();
    const q = pool();
    expect(() => p.retire('s-99', 'x')).toThrow(RangeError);
    expect(() => p.retire(q.pick(), 'x')).toThrow(RangeError);
  });
});

describe('SessionPool: snapshot and restore', () => {
  it('restores live sessions with equal jars, login and counts, and never uses retired ones', () => {
    const p = pool({ size: 3, importCookies: IMPORTED, proxies: 2 });
    const [a, b] = [p.pick(), p.pick()];
    a.cookies?.store(SITE, ['login=alice; Path=/; HttpOnly']);
    a.loggedIn = true;
    b.cookies?.store(SITE, ['cart=3; Path=/']);
    p.retire(b, 'HTTP 403'); // s-2 → s-4
    const snap = p.snapshot();
    expect(snap).toHaveLength(4);
    const retiredSnap = snap.find((s) => s.id === 's-2')!;
    expect(retiredSnap).toEqual({
      id: 's-2',
      cookies: null,
      proxy: 1,
      retired: true,
      loggedIn: false,
      requests: 1,
    });

    const q = pool({
      size: 3,
      importCookies: IMPORTED,
      proxies: 2,
      restore: JSON.parse(JSON.stringify(snap)) as SessionSnapshot[],
    });
    expect(q.created).toBe(0);
    expect(q.live().map((s) => s.id)).toEqual(p.live().map((s) => s.id));
    for (const s of q.live()) {
      const orig = p.get(s.id)!;
      expect(s.cookies?.toJSON()).toBe(orig.cookies?.toJSON());
      expect(s.cookies?.header(SITE)).toBe(orig.cookies?.header(SITE));
      expect(s.slot).toBe(orig.slot);
      expect(s.loggedIn).toBe(orig.loggedIn);
      expect(s.requests).toBe(orig.requests);
    }
    expect(q.get('s-1')?.cookies?.header(SITE)).toContain('login=alice');
    expect(q.get('s-2')?.retired).toBe(true);
    const picked = new Set(Array.from({ length: 30 }, () => q.pick().id));
    expect(picked).toEqual(new Set(['s-1', 's-3', 's-4']));
    // A restored snapshot saved again gives the same state.
    expect(q.snapshot().map(({ requests: _, ...rest }) => rest)).toEqual(
      snap.map(({ requests: _, ...rest }) => rest),
    );
  });

  it('creates missing live sessions, retires extra ones and survives a corrupt jar', () => {
    const live = (id: string, cookies: string | null, loggedIn = true): SessionSnapshot => ({
      id,
      cookies,
      proxy: null,
      retired: false,
      loggedIn,
      requests: 5,
    });
    const p = pool({ size: 1 });
    p.pick().cookies?.store(SITE, ['k=v']);
    const json = p.snapshot()[0]!.cookies!;

    const grown = pool({
      size: 3,
      importCookies: IMPORTED,
      restore: [live('old', json), live('bad', '{not json')],
    });
    expect(grown.live().map((s) => s.id)).toEqual(['old', 'bad', 's-1']);
    expect(grown.created).toBe(1);
    expect(grown.get('old')?.cookies?.header(SITE)).toBe('k=v');
    // The corrupt jar is replaced by a fresh one with the imports, and its login is gone.
    expect(grown.get('bad')?.loggedIn).toBe(false);
    expect(grown.get('bad')?.cookies?.header(SITE)).toBe('sid=imported');
    expect(grown.get('s-1')?.cookies?.header(SITE)).toBe('sid=imported');

    const shrunk = pool({ size: 1, restore: [live('x', json), live('y', json)] });
    expect(shrunk.live().map((s) => s.id)).toEqual(['x']);
    expect(shrunk.get('y')?.retired).toBe(true);
    expect(shrunk.snapshot().map((s) => [s.id, s.retired])).toEqual([
      ['x', false],
      ['y', true],
    ]);
  });

  it('keeps snapshot proxy slots modulo the current proxy count', () => {
    const p = pool({ size: 4, proxies: 2 });
    expect(p.live().map((s) => s.slot)).toEqual([0, 1, 0, 1]);
    expect(p.snapshot().map((s) => s.proxy)).toEqual([0, 1, 0, 1]);
    const q = pool({ size: 4, proxies: 1, restore: p.snapshot() });
    expect(q.live().map((s) => s.slot)).toEqual([0, 0, 0, 0]);
    const direct = pool({ size: 2, proxies: 0 });
    expect(direct.snapshot().map((s) => s.proxy)).toEqual([null, null]);
  });

  it('bounds the retired history kept in snapshots and by get', () => {
    const p = pool({ size: 1 });
    const first = p.pick();
    for (let i = 0; i < 150; i++) p.retire(p.live()[0]!, `round ${i}`);
    expect(p.retired).toBe(150);
    const snap = p.snapshot();
    expect(snap).toHaveLength(101);
    expect(snap.filter((s) => s.retired)).toHaveLength(100);
    // The newest 100 retired are kept, oldest first: s-51 … s-150 (s-151 is live).
    expect(snap[1]!.id).toBe('s-51');
    expect(snap[100]!.id).toBe('s-150');
    expect(snap[0]).toMatchObject({ id: 's-151', retired: false });
    expect(p.get(first.id)).toBeUndefined();
    // The session object itself still leads to the live end past the bound.
    expect(p.retire(first, 'late').id).toBe('s-151');

    const small = pool({ size: 1, keepRetired: 2 });
    for (let i = 0; i < 5; i++) small.retire(small.live()[0]!, 'x');
    expect(small.snapshot().map((s) => s.id)).toEqual(['s-6', 's-4', 's-5']);
  });
});

describe('SessionPool: block codes', () => {
  it('defaults to 401, 403 and 429', () => {
    const p = pool();
    expect([...DEFAULT_BLOCK_CODES].sort()).toEqual([401, 403, 429]);
    for (let s = 100; s < 600; s++) expect(p.isBlock(s)).toBe(s === 401 || s === 403 || s === 429);
  });

  it('uses custom codes exactly', () => {
    const p = pool({ blockCodes: new Set([503, 418]) });
    expect(p.isBlock(503)).toBe(true);
    expect(p.isBlock(418)).toBe(true);
    expect(p.isBlock(403)).toBe(false);
    expect(p.isBlock(429)).toBe(false);
    expect(p.observe(p.pick(), 403)).toBeNull();
  });
});

describe('SessionPool: cookies off', () => {
  it('gives sessions no jar, ignores imports and drops restored jars', () => {
    const p = pool({ cookies: false, importCookies: IMPORTED });
    for (const s of p.live()) expect(s.cookies).toBeNull();
    expect(p.retire(p.pick(), 'x').cookies).toBeNull();
    expect(p.snapshot().every((s) => s.cookies === null)).toBe(true);

    const withJars = pool({ size: 1 });
    withJars.pick().cookies?.store(SITE, ['k=v']);
    const q = pool({ size: 1, cookies: false, restore: withJars.snapshot() });
    expect(q.live()[0]!.cookies).toBeNull();
    expect(q.snapshot()[0]!.cookies).toBeNull();
  });
});

describe('SessionPool: change tracking', () => {
  it('reports changes for new cookies, logins and retirements, not for request counts', () => {
    const p = pool({ size: 2 });
    expect(p.changed).toBe(true);
    expect(p.snapshotIfChanged()).not.toBeNull();
    expect(p.changed).toBe(false);
    expect(p.snapshotIfChanged()).toBeNull();

    const a: Session = p.pick();
    p.pick(a.id);
    expect(p.changed).toBe(false);

    a.cookies?.store(SITE, ['k=v; Path=/']);
    expect(p.changed).toBe(true);
    p.snapshot();
    expect(p.changed).toBe(false);

    a.loggedIn = true;
    expect(p.changed).toBe(true);
    p.snapshot();
    a.loggedIn = true; // no change
    expect(p.changed).toBe(false);

    const v = p.version;
    p.retire(a, 'x');
    expect(p.version).toBeGreaterThan(v);
    expect(p.snapshotIfChanged()).not.toBeNull();
    expect(p.snapshotIfChanged()).toBeNull();
  });

  it('ignores reads and a re-sent identical cookie, but sees a new value or expiry', () => {
    let now = T0;
    const p = pool({ size: 1, now: () => new Date(now) });
    const a = p.pick();
    a.cookies?.store(SITE, ['k=v; Path=/; Expires=Fri, 01 Jan 2027 00:00:00 GMT']);
    p.snapshot();
    now += 60_000;
    // Every request's Cookie header refreshes lastAccessed in the jar's JSON: not a change.
    expect(a.cookies?.header(SITE)).toBe('k=v');
    a.cookies?.store(SITE, ['k=v; Path=/; Expires=Fri, 01 Jan 2027 00:00:00 GMT']);
    expect(p.changed).toBe(false);
    a.cookies?.store(SITE, ['k=v; Path=/; Expires=Sat, 02 Jan 2027 00:00:00 GMT']);
    expect(p.changed).toBe(true);
    p.snapshot();
    a.cookies?.store(SITE, ['k=w; Path=/; Expires=Sat, 02 Jan 2027 00:00:00 GMT']);
    expect(p.snapshotIfChanged()?.[0]?.cookies).toContain('"value":"w"');
    // A Set-Cookie the jar refuses (a public suffix domain) changes nothing.
    a.cookies?.store(SITE, ['x=1; Domain=com']);
    expect(p.changed).toBe(false);
  });
});

describe('SessionPool: options', () => {
  it('refuses a size below 1 and bad counts', () => {
    expect(() => pool({ size: 0 })).toThrow(RangeError);
    expect(() => pool({ size: 1.5 })).toThrow(RangeError);
    expect(() => pool({ proxies: -1 })).toThrow(RangeError);
    expect(() => pool({ keepRetired: -1 })).toThrow(RangeError);
  });

  it('draws ids again on collision and makes short random ids by default', () => {
    const ids = ['a', 'a', 'a', 'b'];
    const p = pool({ size: 2, newId: () => ids.shift()! });
    expect(p.live().map((s) => s.id)).toEqual(['a', 'b']);
    expect(randomSessionId()).toMatch(/^s-[0-9a-f]{8}$/);
    const q = new SessionPool({ size: 50, cookies: false });
    expect(new Set(q.live().map((s) => s.id)).size).toBe(50);
  });
});
