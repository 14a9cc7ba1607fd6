// A scraper's `login` hook (issue 12): each session logs in once, before its first request, and
// every later request of that session carries the cookie; a resumed crawl keeps its logins.
// Real parts: the test site's members area, a SQLite state file.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCrawl, useSites } from '../helpers/crawl.js';
import { useScratch } from '../helpers/scratch.js';

const SCRAPER = join(import.meta.dirname, '../fixtures/scrapers/members-login.ts');
const site = useSites();
const scratch = useScratch('login-crawl');

describe('a scraper that logs in', () => {
  it('logs each session in once, and every member page is fetched logged in', async () => {
    const s = await site({ members: { pages: 8 } });
    const { crawl, records } = startCrawl({ seeds: [`${s.url}members/`], scraper: SCRAPER, sessions: 2 });
    await crawl.done;
    const area = s.members!;
    // Every member page stored once, as itself (not redirected to the login form).
    expect(records.map((r) => new URL(r.url).pathname).sort()).toEqual([...area.paths].sort());
    expect(records.every((r) => r.status === 200 && r.final_url === r.url)).toBe(true);
    expect(area.logins).toBe(2);
    expect(area.failedLogins).toBe(0);
    expect([...area.sessions.values()].every((x) => x.logins === 1)).toBe(true);
  });

  it('does not log in again when a crawl resumes with sessions still valid', async () => {
    const s = await site({ members: { pages: 8 } });
    const state = join(scratch.dir(), 'state.db');
    const first = startCrawl({
      seeds: [`${s.url}members/`],
      scraper: SCRAPER,
      sessions: 2,
      state,
      maxPages: 3,
    });
    await first.crawl.done;
    const area = s.members!;
    expect(area.logins).toBe(2);
    const second = startCrawl({ seeds: [`${s.url}members/`], scraper: SCRAPER, sessions: 2, state });
    await second.crawl.done;
    const all = [...first.records, ...second.records].map((r) => new URL(r.url).pathname);
    expect(all.sort()).toEqual([...area.paths].sort()); // each page once across both runs
    expect(area.logins).toBe(2); // the restored sessions kept their cookies: no second login
  });

  it('replaces a session the site starts blocking, logs the replacement in, and loses no page', async () => {
    // The guard answers 403 to a session after 4 requests: sessions must rotate to finish.
    const s = await site({ members: { pages: 12, blockAfter: 4 } });
    const { crawl, records } = startCrawl({
      seeds: [`${s.url}members/`],
      scraper: SCRAPER,
      sessions: 2,
      retries: 0,
    });
    await crawl.done;
    const area = s.members!;
    expect(records.map((r) => new URL(r.url).pathname).sort()).toEqual([...area.paths].sort());
    expect(records.every((r) => r.status === 200 && r.attempts <= 2)).toBe(true);
    expect(area.logins).toBeGreaterThan(2); // blocked sessions were replaced and logged in
    expect([...area.sessions.values()].every((x) => x.logins === 1)).toBe(true);
  });

  it('fails the page with the login’s message when the login is refused, after its retries', async () => {
    const s = await site({ members: { pages: 2, password: 'other' } });
    const { crawl, records } = startCrawl({ seeds: [`${s.url}members/`], scraper: SCRAPER, retries: 1 });
    await crawl.done;
    expect(records).toHaveLength(1);
    expect(records[0]!.error).toBe('login: login refused (401)');
    expect(records[0]!.attempts).toBe(2);
    expect(s.members!.failedLogins).toBe(2); // a fresh session (and login) for the retry
  });
});
