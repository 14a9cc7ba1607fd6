/**
 * `trawl shell URL` (issue 11) as a child process with commands piped to its stdin, against a
 * loopback site that records each request: the page is fetched as a crawl fetches it (its
 * User-Agent and headers), `$`, `request`, `response` and `html` are bound, `await fetch(url)`
 * rebinds them, piped lines run one after another with only their results on stdout, and bad
 * usage exits 2 before any request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/crawl/options.js';
import { killCliChildren, runCliWith } from '../helpers/cli-stdin.js';
import { type RecordingSite, startRecordingSite } from '../helpers/recording-site.js';

const sites = new Set<RecordingSite>();
afterEach(async () => {
  killCliChildren();
  await Promise.all([...sites].map((s) => s.close()));
  sites.clear();
});

async function site(): Promise<RecordingSite> {
  const s = await startRecordingSite(
    {
      '/': '<title>Home</title><h1>Welcome</h1><a class="next" href="/two">next</a><p class="price">1,299.00</p>',
      '/two': '<title>Two</title><h1>Second page</h1>',
    },
    { '/moved': '/two' },
  );
  sites.add(s);
  return s;
}

/** Runs `trawl shell` with `lines` on stdin; returns the result and stdout's lines. */
async function shell(args: string[], lines: string[]) {
  const r = await runCliWith(['shell', ...args], { input: `${lines.join('\n')}\n` });
  expect(r.timedOut).toBe(false);
  return { ...r, out: r.stdout.split('\n').filter((l) => l !== '') };
}

describe('trawl shell', () => {
  it('binds $, request, response and html to the fetched page; stdout holds only the results', async () => {
    const s = await site();
    const r = await shell(
      [s.url],
      [
        "$('h1').text()",
        "$('.price').text()",
        'response.status',
        'request.method + " " + request.url',
        "html.includes('<h1>Welcome</h1>')",
        "response.headers['content-type']",
        // cheerio resolves against the final URL (baseURI).
        "$('a.next').prop('href')",
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toEqual([
      "'Welcome'",
      "'1,299.00'",
      '200',
      `'GET ${s.url}'`,
      'true',
      "'text/html; charset=utf-8'",
      `'${s.url}two'`,
    ]);
    expect(s.pages()).toEqual(['/']);
    expect(r.stderr).toContain(`trawl shell: GET ${s.url}: 200`);
  });

  it("sends the crawl's User-Agent and headers (and --user-agent, --header when given), not robots.txt", async () => {
    const s = await site();
    const r = await shell([s.url], ['1 + 1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toEqual(['2']);
    expect(s.requests).toHaveLength(1); // politeness and robots.txt do not apply
    const [first] = s.requests;
    expect(first!.headers['user-agent']).toBe(DEFAULTS.userAgent);
    expect(first!.headers['accept-encoding']).toBe('gzip, deflate, br');
    const r2 = await shell([s.url, '--user-agent', 'probe/2', '--header', 'X-Test: yes'], ['1']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(s.requests[1]!.headers['user-agent']).toBe('probe/2');
    expect(s.requests[1]!.headers['x-test']).toBe('yes');
  });

  it('await fetch(url) loads another page, relative to the current one, and rebinds everything', async () => {
    const s = await site();
    const r = await shell(
      [s.url],
      [
        "$('h1').text()",
        "(await fetch('moved')).status",
        // Each piped line runs after the previous one has finished, its await included.
        "$('h1').text()",
        'response.url',
        'request.url',
        "html.includes('Second page')",
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toEqual(["'Welcome'", '200', "'Second page'", `'${s.url}two'`, `'${s.url}moved'`, 'true']);
    expect(s.pages()).toEqual(['/', '/moved', '/two']);
  });

  it('runs a multi-line statement piped in, with no prompts on stdout', async () => {
    const s = await site();
    const r = await shell(
      [s.url],
      [
        'const titles = [];',
        "for (const h of ['h1', 'title']) {",
        '  titles.push($(h).text());',
        '}',
        'titles.join("|")',
      ],
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.out.at(-1)).toBe("'Welcome|Home'");
    expect(r.stdout).not.toMatch(/\.\.\.|>/);
  });

  it('a first fetch that fails is reported and the REPL still opens', async () => {
    const s = await site();
    const url = s.url;
    await s.close();
    sites.delete(s);
    const r = await shell([url], ['typeof $', 'request.url']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^trawl shell: ${url.replace(/[.]/g, '\\.')}: refused: `, 'm'));
    expect(r.out).toEqual(["'undefined'", `'${url}'`]);
  });

  it('bad usage exits 2 with one line, before any request', async () => {
    const s = await site();
    for (const args of [
      ['ftp://127.0.0.1/'],
      ['not a url'],
      [s.url, '--timeout', 'soon'],
      [s.url, '--header', 'no colon'],
      [s.url, '--user-agent', ''],
    ]) {
      const r = await shell(args, ['1']);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^trawl: [^\n]+\n$/);
      expect(r.stdout).toBe('');
    }
    expect(s.requests).toEqual([]);
  });
});
