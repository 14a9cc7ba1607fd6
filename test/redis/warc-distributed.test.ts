/**
 * `--warc-dir` in distributed mode (issue 14): three processes on one crawl through a real
 * redis-server each write their own WARC file, one is SIGKILLed mid-crawl, and after
 * `trawl export --redis --out x.cdxj` (which repairs the dead process's file) warcio.js reads
 * every file to the end and finds every page's response exactly once, each with its request;
 * the CDXJ index equals the one warcio.js builds.
 */
import { appendFileSync, createReadStream, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { CDXIndexer, WARCParser, type WARCRecord } from 'warcio';
import { cleanup, runCli, spawnCli, startSite, tempDir } from '../helpers/cli.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';

let redis: TestRedis | null = null;
afterEach(async () => {
  await cleanup();
  await redis?.stop();
  redis = null;
});

const PAGES = 600;

async function until(cond: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('distributed --warc-dir', () => {
  it('one file per process; a SIGKILLed worker leaves no page twice or torn after export', async () => {
    redis = await startRedis();
    const site = await startSite({ pages: PAGES, latencyMs: 20, pageBytes: 2000 });
    const dir = tempDir('trawl-warc-redis-');
    const warcDir = join(dir, 'warc');
    const flags = [
      '--redis',
      redis.url,
      '--name',
      't',
      '--allow-private',
      '--quiet',
      '--json',
      '--rate',
      'inf',
      '--host-concurrency',
      '64',
      '--workers',
      '8',
      '--lease-ttl',
      '1s',
      '--warc-dir',
      warcDir,
    ];
    const workers = [0, 1].map(() => spawnCli(['worker', ...flags], { timeoutMs: 60_000 }));
    const c = redis.client();
    await until(async () => (await c.zcard('trawl:{t}:workers')) >= 2, 'the workers to register', 40_000);
    const crawl = spawnCli(['crawl', site.url, ...flags], { timeoutMs: 60_000 });
    await until(
      async () => Number(await c.hget('trawl:{t}:stats', 'done')) > 150,
      'the crawl to get going',
      30_000,
    );
    workers[1]!.kill('SIGKILL');
    const results = await Promise.all([crawl.exited, ...workers.map((w) => w.exited)]);
    expect(results[2]!.signal).toBe('SIGKILL');
    for (const i of [0, 1]) expect(results[i]!.code, results[i]!.stderr).toBe(0);

    const files = readdirSync(warcDir).filter((n) => n.endsWith('.warc.gz'));
    expect(files.length).toBe(3); // one per process, named by process
    expect(new Set(files.map((n) => n.split('-').slice(0, -2).join('-'))).size).toBe(3);

    // What a kill in the middle of an append leaves: part of a gzip member past the committed mark.
    const dead = files.filter((n) => n.includes(`-${workers[1]!.pid}-`));
    expect(dead).toHaveLength(1);
    appendFileSync(
      join(warcDir, dead[0]!),
      gzipSync(Buffer.from('WARC/1.1\r\nWARC-Type: response\r\n')).subarray(0, 20),
    );

    const status = await runCli(['status', '--redis', redis.url, '--name', 't']);
    expect(status.stdout).toMatch(/warc {5}3 files, \d+ bytes committed/);

    const cdxj = join(dir, 'all.cdxj');
    const exp = await runCli(['export', '--redis', redis.url, '--name', 't', '--out', cdxj]);
    expect(exp.code, exp.stderr).toBe(0);
    expect(exp.stderr).toMatch(/indexed 3 WARC files .*; 1 cut back to their committed records/);

    const responses = new Map<string, number>();
    const ids = new Set<string>();
    const requestsTo = new Set<string>();
    const theirs: string[] = [];
    for (const name of files) {
      const path = join(warcDir, name);
      for await (const r of new WARCParser([readFileSync(path)])) {
        const rec = r as WARCRecord;
        await rec.readFully();
        const uri = rec.warcTargetURI ?? '';
        if (uri.endsWith('/robots.txt')) continue;
        const h = rec.warcHeaders.headers as Headers;
        if (rec.warcType === 'response') {
          responses.set(uri, (responses.get(uri) ?? 0) + 1);
          ids.add(h.get('WARC-Record-ID') ?? '');
        }
        if (rec.warcType === 'request') requestsTo.add(h.get('WARC-Concurrent-To') ?? '');
      }
      const indexer = new CDXIndexer({ format: 'cdxj' });
      for await (const res of indexer.iterIndex([{ filename: name, reader: createReadStream(path) }]))
        theirs.push(indexer.serialize(res as Record<string, unknown>).replace(/\n$/, ''));
    }
    const want = Array.from({ length: PAGES }, (_, id) => site.pageUrl(id));
    expect(Number(await c.hget('trawl:{t}:stats', 'done'))).toBe(PAGES);
    expect(responses.size).toBe(PAGES);
    for (const u of want) expect(responses.get(u), u).toBe(1);
    for (const id of ids) expect(requestsTo.has(id)).toBe(true);
    theirs.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(readFileSync(cdxj, 'utf8').trim().split('\n')).toEqual(theirs);
  }, 120_000);
});
