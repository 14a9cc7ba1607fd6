/**
 * Logins survive crashes (issue 12): `trawl run` of a scraper that logs each of its two sessions
 * in to the test site's members area, with a state file, SIGKILLed at random moments and rerun
 * with the same command, ends with every member page stored exactly once, and the site never saw
 * a second login on a session that was still valid: a resumed run logs in only the sessions the
 * state did not keep as logged in, every site session was logged in to once, and the logins that
 * cost more than the first run's two are exactly those a kill caught between a login and its
 * save. The state file, which holds the session cookies, is mode 0600. And deterministically: a
 * kill while one login is half done (the site's cookie in its jar, the hook not returned) leaves
 * a state without that cookie, so the rerun logs that session in afresh instead of again on the
 * same site session.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionCookies } from '../../src/crawl/fetch/session-cookies.js';
import type { StoredSession } from '../../src/crawl/frontier/frontier.js';
import { parseStoredSession } from '../../src/crawl/frontier/stored-session.js';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
import { SESSION_COOKIE } from '../../src/testsite/members.js';
import type { TestSite } from '../../src/testsite/server.js';
import { prng } from '../../src/testsite/site.js';
import { type CliResult, cleanup, readJsonl, spawnCli, startSite, tempDir, until } from '../helpers/cli.js';

afterEach(cleanup);

const SCRAPER = join(import.meta.dirname, '../fixtures/scrapers/members-login.ts');
/** The same, with two overlapping logins, the second paused half done (TRAWL_TEST_LOGIN_PAUSE=1). */
const SLOW_LOGIN = join(import.meta.dirname, '../fixtures/scrapers/members-login-slow.ts');
const SESSIONS = 2;
const KILLS = 6;
/** Seed of the kill moments: change it to explore other schedules; fixed so a failure reproduces. */
const SEED = 0x10_9e;
/**
 * 300 member pages (each links every other), a little latency so a run spans several stored
 * batches and a login (form GET, POST, redirect to /members/) spans several milliseconds.
 */
const SITE = { members: { pages: 300 }, latencyMs: 1 } as const;

interface Run {
  site: TestSite;
  state: string;
  out: string;
  args: string[];
}

async function setup(scraper = SCRAPER): Promise<Run> {
  const site = await startSite(SITE);
  const dir = tempDir('trawl-resume-login-');
  const state = join(dir, 's.db');
  const out = join(dir, 'records.jsonl');
  const args = [
    'run',
    scraper,
    `${site.url}members/`,
    '--rate',
    'inf',
    '--workers',
    '8',
    '--sessions',
    String(SESSIONS),
    '--state',
    state,
    '--out',
    out,
    '--items',
    join(dir, 'items.jsonl'),
  ];
  return { site, state, out, args };
}

/** A file's size in bytes (0 when missing). */
function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The site session a stored session's jar names (its session cookie's value), or null. */
function siteSessionOf(s: StoredSession, site: TestSite): string | null {
  if (s.cookies === null) return null;
  const jar = SessionCookies.fromJSON(s.cookies);
  return jar.cookiesFor(`${site.url}members/`).find((c) => c.name === SESSION_COOKIE)?.value ?? null;
}

/**
 * The state's saved sessions, read without writing to the file (a killed run's state stays as the
 * kill left it for the rerun): a read-only open and the sessions table, parsed as the frontier
 * parses it.
 */
function savedSessions(path: string): StoredSession[] {
  if (sizeOf(path) === 0) return [];
  const state = openState(path, { readonly: true });
  try {
    const rows = state.db.prepare('SELECT id, data FROM sessions').all() as { id: string; data: string }[];
    return rows.map((r) => {
      const s = parseStoredSession(r.id, r.data);
      expect(s, `stored session ${r.id} is malformed`).not.toBeNull();
      return s!.session;
    });
  } finally {
    state.close();
  }
}

/**
 * Site session ids of the saved sessions that are live and logged in. A live session saved as
 * not logged in must not hold a site session's cookie: a resume would log it in again on that
 * still-valid site session.
 */
function savedLogins(path: string, site: TestSite): Set<string> {
  const ids = new Set<string>();
  for (const s of savedSessions(path)) {
    if (s.retired) continue;
    if (!s.loggedIn) {
      expect(siteSessionOf(s, site), `saved session ${s.id} holds a cookie but is not logged in`).toBeNull();
      continue;
    }
    const id = siteSessionOf(s, site);
    expect(id, `saved session ${s.id} is logged in but its jar has no ${SESSION_COOKIE}`).not.toBeNull();
    ids.add(id!);
  }
  return ids;
}

/** Every session the site ever issued was logged in to exactly once. */
function expectOneLoginPerSiteSession(site: TestSite, when: string): void {
  const twice = [...site.members!.sessions.values()].filter((s) => s.logins !== 1);
  expect(
    twice.map((s) => ({ logins: s.logins, requests: s.requests })),
    `second login ${when}`,
  ).toEqual([]);
  expect(site.members!.failedLogins).toBe(0);
}

/** Every member page stored exactly once, as itself (200, not redirected to the login form). */
function expectEveryPageOnce(r: Run): void {
  const pages = readJsonl(r.out);
  expect(pages.bad, 'torn or invalid page lines').toEqual([]);
  expect(pages.endsClean).toBe(true);
  const urls = pages.records.map((x) => x.url as string);
  expect(new Set(urls).size, 'pages stored more than once').toBe(urls.length);
  expect(urls.map((u) => new URL(u).pathname).sort()).toEqual([...r.site.members!.paths].sort());
  const wrong = pages.records.filter((x) => x.status !== 200 || x.error !== null || x.final_url !== x.url);
  expect(wrong).toEqual([]);
}

/**
 * The finished crawl's state, through the frontier's own loader: every session live and logged
 * in, each one's cookie naming a site session logged in to once; the file, which holds those
 * cookies, readable by its owner only.
 */
async function expectFinalSessions(r: Run): Promise<void> {
  const state = openState(r.state);
  try {
    const saved = await new SqliteFrontier(state).loadSessions();
    const live = saved.filter((s) => !s.retired);
    expect(live).toHaveLength(SESSIONS);
    for (const s of live) {
      expect(s.loggedIn).toBe(true);
      const id = siteSessionOf(s, r.site);
      expect(id).not.toBeNull();
      expect(r.site.members!.sessions.get(id!)?.logins).toBe(1);
    }
  } finally {
    state.close();
  }
  expect(statSync(r.state).mode & 0o777).toBe(0o600);
}

describe('resuming a logged-in crawl', () => {
  it(`SIGKILL at ${KILLS} random moments, then a rerun: no second login, every member page once`, async () => {
    const r = await setup();
    const area = r.site.members!;
    const rand = prng(SEED);
    let landed = 0;
    let lost = 0;
    for (let i = 0; i <= KILLS; i++) {
      const last = i === KILLS;
      const known = new Set(area.sessions.keys());
      const savedBefore = savedLogins(r.state, r.site);
      const logins = area.logins;
      const outBefore = sizeOf(r.out);
      const proc = spawnCli(r.args, { timeoutMs: 60_000 });
      let res: CliResult;
      if (last) {
        res = await proc.exited;
        expect(res.timedOut, `the last run did not finish; stderr:\n${res.stderr}`).toBe(false);
        expect(res.code, res.stderr).toBe(0);
      } else {
        // Half the kills aim at logins: a few milliseconds after the site answered a login POST
        // (or, when this run needs no login, after its first stored page) — the window between
        // a login and its save. The others land anywhere 0–300 ms into the run's storing.
        const atLogin = rand() < 0.5;
        await until(
          () => proc.done || sizeOf(r.out) > outBefore || (atLogin && area.logins > logins),
          'the run to log in or store pages',
          45_000,
        );
        await new Promise((wake) => setTimeout(wake, Math.floor(rand() * (atLogin ? 15 : 300))));
        const wasRunning = !proc.done;
        proc.kill('SIGKILL');
        res = await proc.exited;
        expect(res.timedOut).toBe(false);
        if (wasRunning) {
          landed++;
          expect(res.signal).toBe('SIGKILL');
        } else expect(res.code, res.stderr).toBe(0); // it finished before the kill: a clean run
      }
      if (i > 0) expect(res.stderr, `run ${i + 1} did not announce resuming`).toMatch(/resuming crawl/);

      // What this run did at the site, against what the state held when it started.
      const created = [...area.sessions.keys()].filter((id) => !known.has(id));
      const savedAfter = savedLogins(r.state, r.site);
      expectOneLoginPerSiteSession(r.site, `in run ${i + 1}`);
      // A session the state kept as logged in is not logged in again (it would show as a second
      // login above, or as a fresh site session here) and stays saved.
      expect(created.length, `run ${i + 1} logged in restored sessions`).toBeLessThanOrEqual(
        SESSIONS - savedBefore.size,
      );
      for (const id of savedBefore)
        expect(savedAfter.has(id), `run ${i + 1} dropped a saved login`).toBe(true);
      // Logins the state never recorded: only a kill can lose one (between the login and its save).
      const unsaved = created.filter((id) => !savedAfter.has(id));
      if (last || !res.signal) expect(unsaved, `run ${i + 1} ended without saving its logins`).toEqual([]);
      lost += unsaved.length;
    }
    // Kills must have interrupted real crawling, not only finished runs.
    expect(landed).toBeGreaterThanOrEqual(KILLS / 2);

    expectEveryPageOnce(r);

    // Logins: the first run's two, plus those kills lost before their save; one per site session.
    expectOneLoginPerSiteSession(r.site, 'overall');
    expect(area.logins).toBe(area.sessions.size);
    expect(area.logins).toBe(SESSIONS + lost);

    await expectFinalSessions(r);
  }, 120_000);

  it('a kill while a login is under way (its cookie in the jar, not yet returned), then a rerun: no second login on that site session', async () => {
    // Two start URLs, so both sessions log in at once. The fixture (TRAWL_TEST_LOGIN_PAUSE) makes
    // the first login return only once the second one's POST was answered — the site's cookie is
    // then in the second session's jar — and the second pause there. The first login's save thus
    // sees the second half done. Kill after that save; the rerun must not log in again on the
    // site session the unfinished login got (a second login on a session still valid).
    const r = await setup(SLOW_LOGIN);
    r.args.splice(3, 0, `${r.site.url}members/1`);
    const area = r.site.members!;
    const proc = spawnCli(r.args, { timeoutMs: 60_000, env: { TRAWL_TEST_LOGIN_PAUSE: '1' } });
    const loggedIn = () => savedSessions(r.state).filter((s) => !s.retired && s.loggedIn);
    await until(() => proc.done || loggedIn().length > 0, 'the first login to be saved', 45_000);
    expect(proc.done, 'the run ended before its logins').toBe(false);
    expect(area.logins, 'both login POSTs were answered before the first login returned').toBe(2);
    const saved = savedSessions(r.state).filter((s) => !s.retired);
    expect(saved.map((s) => s.loggedIn).sort()).toEqual([false, true]);
    // What the unfinished login got is not in the state: its session is saved as before the login.
    const pending = saved.find((s) => !s.loggedIn)!;
    expect(siteSessionOf(pending, r.site), 'the state kept the cookie of an unfinished login').toBeNull();
    proc.kill('SIGKILL');
    expect((await proc.exited).signal).toBe('SIGKILL');
    expect(area.logins).toBe(2);

    const last = await spawnCli(r.args, { timeoutMs: 60_000 }).exited;
    expect(last.timedOut, `the rerun did not finish; stderr:\n${last.stderr}`).toBe(false);
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming crawl/);
    expectOneLoginPerSiteSession(r.site, 'after the rerun');
    // The unfinished login was lost with the kill; the rerun logged that session in afresh, once.
    expect(area.logins).toBe(3);
    expectEveryPageOnce(r);
    await expectFinalSessions(r);
  }, 120_000);
});
