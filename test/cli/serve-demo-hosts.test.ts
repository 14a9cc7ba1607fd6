/**
 * `trawl serve-demo --hosts N`: the flag is checked before anything listens (a bad N is exit 2
 * naming the flag, nothing printed as served), and a good N serves the multi-host site over
 * real loopback addresses past the first 127.0.0.x block, announcing the range it took.
 */
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseServeHosts } from '../../src/cli/commands/demo.js';
import { UsageError } from '../../src/crawl/options.js';
import { MAX_HOSTS } from '../../src/testsite/multi-host-graph.js';
import { cleanup, spawnCli } from '../helpers/cli.js';
import { refused } from '../helpers/net.js';

const agent = new Agent({ connections: 4, keepAliveTimeout: 1000 });
afterAll(() => agent.close());

async function get(url: string) {
  const r = await request(url, { dispatcher: agent });
  return { status: r.statusCode, body: await r.body.text() };
}

describe('serve-demo --hosts: validation', () => {
  it('accepts 1..MAX_HOSTS for the demo site, absent stays absent', () => {
    expect(parseServeHosts(undefined, 'demo')).toBeUndefined();
    expect(parseServeHosts('1', 'demo')).toBe(1);
    expect(parseServeHosts(' 1000 ', 'demo')).toBe(1000);
    expect(parseServeHosts(String(MAX_HOSTS), 'demo')).toBe(MAX_HOSTS);
    // One host is the single site, which every site is.
    expect(parseServeHosts('1', 'shop')).toBe(1);
  });

  it('refuses a non-number, zero, a fraction, a negative, too many, and another site', () => {
    const msg = (v: string, site = 'demo'): string => {
      try {
        parseServeHosts(v, site);
      } catch (err) {
        expect(err).toBeInstanceOf(UsageError);
        return (err as Error).message;
      }
      throw new Error(`--hosts ${v} was accepted`);
    };
    expect(msg('abc')).toBe('--hosts must be a whole number (got "abc")');
    expect(msg('')).toMatch(/^--hosts must be a whole number/);
    expect(msg('1.5')).toMatch(/^--hosts must be a whole number/);
    expect(msg('-3')).toMatch(/^--hosts must be a whole number/);
    expect(msg('0')).toBe('--hosts must be at least 1 (got 0)');
    expect(msg(String(MAX_HOSTS + 1))).toBe(
      `--hosts must be at most ${MAX_HOSTS} (one host per loopback address 127.0.0.2 … 127.255.255.254, ` +
        `skipping 127.0.0.1 and .0/.255), got ${MAX_HOSTS + 1}`,
    );
    expect(msg('3', 'shop')).toBe('--hosts applies to --site demo only (got --site shop --hosts 3)');
  });
});

describe('serve-demo --hosts: the CLI', () => {
  afterEach(cleanup);

  it('exits 2 on a bad --hosts before serving anything', async () => {
    for (const args of [
      ['--hosts', '0'],
      ['--hosts', 'many'],
      ['--hosts', String(MAX_HOSTS + 1)],
      ['--site', 'capacity', '--hosts', '2'],
    ]) {
      const res = await spawnCli(['serve-demo', '--port', '0', ...args]).exited;
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain('--hosts');
      expect(res.stdout).not.toContain('serving');
    }
  });

  it('serves 300 hosts (127.0.0.2 … 127.0.1.47) on one port until SIGINT, then frees them', async () => {
    const cli = spawnCli(['serve-demo', '--hosts', '300', '--pages', '3', '--port', '0']);
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      cli.child.stdout!.on('data', (b: Buffer) => {
        text += b.toString();
        if (/start at http/.test(text)) resolve(text);
      });
      void cli.exited.then((r) => reject(new Error(`exited early: ${r.stderr}`)));
    });
    const m = /serving the demo site at http:\/\/127\.0\.0\.2:(\d+)\//.exec(out);
    expect(m).not.toBeNull();
    const port = Number(m![1]);
    // The description names the range, which crosses from 127.0.0.x into 127.0.1.x.
    expect(out).toContain(`300 hosts (127.0.0.2 … 127.0.1.47, port ${port}), 3 pages/host`);

    // The last host is its own host: its page, its robots.txt naming its own sitemap.
    const page = await get(`http://127.0.1.47:${port}/p/2`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Host 299 page 2</title>');
    const robots = await get(`http://127.0.1.47:${port}/robots.txt`);
    expect(robots.body).toContain(`Sitemap: http://127.0.1.47:${port}/sitemap.xml`);
    // 127.0.0.254 is host 252, 127.0.1.1 host 253: .255 and .0 are skipped.
    expect((await get(`http://127.0.0.254:${port}/`)).body).toContain('<title>Host 252 page 0</title>');
    expect((await get(`http://127.0.1.1:${port}/`)).body).toContain('<title>Host 253 page 0</title>');
    // Home pages link across hosts with absolute URLs.
    expect((await get(`http://127.0.0.2:${port}/`)).body).toContain(`href="http://127.0.0.3:${port}/"`);
    // Nothing else is bound: not 127.0.0.1 (the single-host fixtures' address), not host 300.
    expect(await refused('127.0.0.1', port)).toBe(true);
    expect(await refused('127.0.1.48', port)).toBe(true);

    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
    expect(await refused('127.0.1.47', port)).toBe(true);
  }, 60_000);
});
