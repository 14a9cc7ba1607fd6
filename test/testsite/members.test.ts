import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOGIN_FIELDS, MEMBERS_PASSWORD, MEMBERS_USER, SESSION_COOKIE } from '../../src/testsite/members.js';
import { startTestSite, type TestSite } from '../../src/testsite/server.js';

const agent = new Agent({ connections: 8, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function call(
  url: string,
  opts: { method?: 'GET' | 'POST' | 'PUT'; cookie?: string; form?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = {};
  if (opts.cookie !== undefined) headers.cookie = opts.cookie;
  let body: string | undefined;
  if (opts.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(opts.form).toString();
  }
  const r = await request(url, { dispatcher: agent, method: opts.method ?? 'GET', headers, body });
  const text = await r.body.text();
  const h = (k: string): string[] => {
    const v = r.headers[k];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  return { status: r.statusCode, text, h };
}

/** GETs the form and returns its hidden token, as a crawler filling the form would. */
async function token(s: TestSite): Promise<string> {
  const r = await call(`${s.url}login`);
  expect(r.status).toBe(200);
  const m = new RegExp(`name="${LOGIN_FIELDS.token}" value="([^"]+)"`).exec(r.text);
  expect(m).not.toBeNull();
  return m![1]!;
}

/** Logs in (optionally carrying a cookie) and returns the `name=value` of the session cookie set. */
async function login(s: TestSite, cookie?: string): Promise<string> {
  const r = await call(`${s.url}login`, {
    method: 'POST',
    cookie,
    form: { [LOGIN_FIELDS.token]: await token(s), username: MEMBERS_USER, password: MEMBERS_PASSWORD },
  });
  expect(r.status).toBe(302);
  expect(r.h('location')).toEqual(['/members/']);
  const set = r.h('set-cookie');
  expect(set.length).toBe(1);
  return set[0]!.split(';')[0]!;
}

describe('members area: login and access', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({ pages: 20, members: {} });
  });
  afterAll(() => s.close());

  it('serves a login form with username, password and a hidden token field', async () => {
    const r = await call(`${s.url}login`);
    expect(r.status).toBe(200);
    expect(r.text).toContain('<form method="post" action="/login">');
    expect(r.text).toContain('type="hidden" name="csrf"');
    expect(r.text).toContain('name="username"');
    expect(r.text).toContain('type="password" name="password"');
    expect((await call(`${s.url}login`, { method: 'PUT' })).status).toBe(405);
  });

  it('sets an HttpOnly Path=/ session cookie and redirects to /members/ on a right POST', async () => {
    const before = s.members!.logins;
    const r = await call(`${s.url}login`, {
      method: 'POST',
      form: { csrf: await token(s), username: MEMBERS_USER, password: MEMBERS_PASSWORD },
    });
    expect(r.status).toBe(302);
    expect(r.h('location')).toEqual(['/members/']);
    const [cookie] = r.h('set-cookie');
    const parts = cookie!.split(';').map((p) => p.trim());
    expect(parts[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=[0-9a-f]{32}$`));
    expect(parts).toContain('HttpOnly');
    expect(parts).toContain('Path=/');
    expect(s.members!.logins).toBe(before + 1);
    expect(s.members!.sessionOf(parts[0])!.logins).toBe(1);
  });

  it('refuses a wrong password (401) and a missing or forged token (400) without a cookie', async () => {
    const failed = s.members!.failedLogins;
    const sessions = s.members!.sessions.size;
    const wrong = await call(`${s.url}login`, {
      method: 'POST',
      form: { csrf: await token(s), username: MEMBERS_USER, password: 'nope' },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.h('set-cookie')).toEqual([]);
    for (const csrf of ['', '1.forged', 'garbage']) {
      const r = await call(`${s.url}login`, {
        method: 'POST',
        form: { csrf, username: MEMBERS_USER, password: MEMBERS_PASSWORD },
      });
      expect(r.status).toBe(400);
      expect(r.h('set-cookie')).toEqual([]);
    }
    expect(s.members!.failedLogins).toBe(failed + 4);
    expect(s.members!.sessions.size).toBe(sessions);
  });

  it('redirects /members/* to /login without a valid cookie and serves linked pages with one', async () => {
    for (const p of [...s.members!.paths, '/members', '/members/nope']) {
      for (const cookie of [undefined, `${SESSION_COOKIE}=0123456789abcdef0123456789abcdef`]) {
        const r = await call(`${s.url}${p.slice(1)}`, { cookie });
        expect(r.status).toBe(302);
        expect(r.h('location')).toEqual(['/login']);
      }
    }
    const cookie = await login(s);
    // Following links from /members/ reaches every member page.
    const seen = new Set<string>();
    const queue = ['/members/'];
    while (queue.length > 0) {
      const p = queue.shift()!;
      if (seen.has(p)) continue;
      seen.add(p);
      const r = await call(`${s.url}${p.slice(1)}`, { cookie: `other=1; ${cookie}` });
      expect(r.status).toBe(200);
      expect(r.text).toContain('Members only');
      for (const m of r.text.matchAll(/href="(\/members\/[^"]*)"/g)) queue.push(m[1]!);
    }
    expect([...seen].sort()).toEqual([...s.members!.paths].sort());
    expect(s.members!.paths.length).toBe(6);
    expect((await call(`${s.url}members/nope`, { cookie })).status).toBe(404);
    // The rest of the site is unchanged, and its home page links the members area.
    expect((await call(s.url, { cookie })).text).toContain('href="/members/"');
    expect((await call(s.pageUrl(3))).status).toBe(200);
  });
});

describe('members area: guard and counters', () => {
  let s: TestSite;
  beforeAll(async () => {
    s = await startTestSite({ pages: 20, members: { blockAfter: 3 } });
  });
  afterAll(() => s.close());

  it('answers 403 to a session after blockAfter requests, anywhere but /login', async () => {
    const cookie = await login(s);
    const m = s.members!;
    for (let i = 1; i <= 3; i++) expect((await call(`${s.url}members/${i}`, { cookie })).status).toBe(200);
    expect((await call(`${s.url}members/1`, { cookie })).status).toBe(403);
    expect((await call(s.pageUrl(2), { cookie })).status).toBe(403);
    expect((await call(`${s.url}login`, { cookie })).status).toBe(200);
    // Without the cookie the site still answers.
    expect((await call(s.pageUrl(2))).status).toBe(200);
    const st = m.sessionOf(cookie)!;
    expect(st).toMatchObject({ logins: 1, requests: 6, blocked: 2 });
  });

  it('counts a re-login with a valid cookie on the same session, and gives a blocked session a new one', async () => {
    const m = s.members!;
    const total = m.logins;
    const a = await login(s);
    expect((await call(`${s.url}members/`, { cookie: a })).status).toBe(200);
    const again = await login(s, a);
    expect(again).toBe(a);
    expect(m.sessionOf(a)).toMatchObject({ logins: 2, requests: 2, blocked: 0 });
    // Two more requests exhaust it (4 > 3); a login carrying the blocked cookie starts afresh.
    expect((await call(`${s.url}members/2`, { cookie: a })).status).toBe(200);
    expect((await call(`${s.url}members/3`, { cookie: a })).status).toBe(403);
    const b = await login(s, a);
    expect(b).not.toBe(a);
    expect(m.sessionOf(b)).toMatchObject({ logins: 1, requests: 0, blocked: 0 });
    expect(m.sessionOf(a)).toMatchObject({ logins: 2, requests: 5, blocked: 1 });
    expect((await call(`${s.url}members/`, { cookie: b })).status).toBe(200);
    expect(m.logins).toBe(total + 3);
    // Sessions survive a counter reset of the site (a resumed crawl's cookie stays valid).
    s.reset();
    expect((await call(`${s.url}members/1`, { cookie: b })).status).toBe(200);
  });
});

describe('cookie on every response', () => {
  it('sets one cookie on every response with setCookieEveryResponse, none without it', async () => {
    const s = await startTestSite({ pages: 10, setCookieEveryResponse: true });
    const plain = await startTestSite({ pages: 10 });
    try {
      const values: string[] = [];
      for (const p of ['', 'p/1', 'robots.txt', 'sitemap.xml', 'no/such/page']) {
        const r = await call(`${s.url}${p}`);
        const set = r.h('set-cookie');
        expect(set.length).toBe(1);
        expect(set[0]).toMatch(/^trawl_visit=\d+; Path=\/$/);
        values.push(set[0]!);
        expect((await call(`${plain.url}${p}`)).h('set-cookie')).toEqual([]);
      }
      expect(new Set(values).size).toBe(values.length);
      expect((await call(`${plain.url}login`)).status).toBe(404);
    } finally {
      await Promise.all([s.close(), plain.close()]);
    }
  });
});
