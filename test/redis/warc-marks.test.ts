/**
 * Exactly-once WARC in distributed mode at the frontier level (a real redis-server, real WARC
 * files): a completion that lost its page to another process has its records cut out of the
 * batch, a rewrite interrupted at any point is finished by a repair, and a COMPLETE that Redis
 * runs twice (a reply lost to a reconnect) does not take the first run's stored pages for losers.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Exchange } from '../../src/crawl/exchange.js';
import type { Completion, FrontierItem } from '../../src/crawl/frontier/frontier.js';
import type { PageRecord } from '../../src/crawl/record.js';
import { LuaScript } from '../../src/crawl/redis/connect.js';
import { crawlKeys } from '../../src/crawl/redis/keys.js';
import { RedisFrontier } from '../../src/crawl/redis/redis-frontier.js';
import * as S from '../../src/crawl/redis/scripts.js';
import { parseWarcFileMark, repairWarcFile, warcFixed } from '../../src/crawl/redis/warc-marks.js';
import { readWarc, warcField } from '../../src/crawl/store/cdxj.js';
import { dropRecords, replaceFileTail } from '../../src/crawl/store/warc-drop.js';
import { newRecordId } from '../../src/crawl/store/warc-record.js';
import { WarcWriter } from '../../src/crawl/store/warc-writer.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { parse } from '../helpers/warc-read.js';

let redis: TestRedis;
let dir: string;
beforeEach(async () => {
  redis = await startRedis();
  dir = fs.mkdtempSync(join(redis.dir, 'warc-'));
});
afterEach(async () => {
  await redis.stop();
});

const HOST = 'a.test';
const url = (p: string) => `http://${HOST}/${p}`;
const item = (p: string): FrontierItem => ({
  url: url(p),
  host: HOST,
  depth: 0,
  referrer: null,
  attempts: 0,
});

function exchange(p: string): Exchange {
  const body = Buffer.from(`<title>${p}</title>${'x'.repeat(500)}`);
  return {
    url: url(p),
    date: Date.UTC(2026, 11, 7),
    ip: '127.0.0.1',
    requestHead: Buffer.from(`GET /${p} HTTP/1.1\r\nhost: ${HOST}\r\n\r\n`, 'latin1'),
    requestBody: null,
    responseHead: Buffer.from(
      `HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: ${body.length}\r\n\r\n`,
      'latin1',
    ),
    status: 200,
    responseBody: body,
  };
}

function frontier(
  owner: string,
  rewrite?: (path: string, s: number, e: number, d: ReadonlySet<string>) => number,
) {
  return new RedisFrontier(redis.client(), {
    name: 't',
    hostRate: Number.POSITIVE_INFINITY,
    hostBurst: 1,
    owner,
    ownsClient: true,
    ...(rewrite === undefined ? {} : { rewriteWarc: rewrite }),
  });
}

/** Writes one batch of `pages` to `w`: the completions (with their record ids) and the commit mark. */
function writeBatch(w: WarcWriter, items: FrontierItem[]) {
  const before = w.mark();
  const completions: Completion[] = [];
  const entries = items.map((it) => {
    const id = newRecordId();
    const record = { url: it.url, status: 200, error: null } as PageRecord;
    completions.push({ item: it, record, links: [], warcIds: [id] });
    return { type: 'exchange' as const, exchange: exchange(new URL(it.url).pathname.slice(1)), id };
  });
  const after = w.write(entries);
  return { completions, mark: { ...after, start: before.path === after.path ? before.offset : 0 } };
}

function writer(path: string): WarcWriter {
  return new WarcWriter({ file: path, software: 'trawl/test' });
}

/** The target URIs of the file's response records, in order. */
function responses(path: string): string[] {
  return [...readWarc(path)]
    .filter((r) => warcField(r, 'WARC-Type') === 'response')
    .map((r) => warcField(r, 'WARC-Target-URI') as string);
}

async function entry(path: string) {
  const raw = await redis.client().hget('trawl:{t}:warc', path);
  return raw === null ? null : parseWarcFileMark(raw);
}

describe('distributed WARC marks', () => {
  it("cuts a losing completion's records out of its batch and commits the new mark", async () => {
    const path = join(dir, 'a.warc.gz');
    const w = writer(path);
    const a = frontier('A', (p, s, e, d) => dropRecords(p, s, e, d, (at, b) => w.replaceTail(p, at, b)));
    const b = frontier('B');
    await a.add([item('1'), item('2'), item('3')]);
    const leased = await a.lease(3, Date.now(), () => 0);
    expect(leased.map((i) => i.url).sort()).toEqual([url('1'), url('2'), url('3')]);
    // A stalls past its lease on page 2: the lease is reaped, B fetches and stores page 2 first.
    await redis.client().zadd('trawl:{t}:leases', 0, url('2'));
    const stolen = await b.lease(1, Date.now(), () => 0);
    expect(stolen.map((i) => i.url)).toEqual([url('2')]);
    await b.complete([
      { item: stolen[0]!, record: { url: url('2'), status: 200, error: null } as PageRecord, links: [] },
    ]);

    const first = writeBatch(w, [item('0')]); // an earlier batch of A's, committed alone
    await a.complete(first.completions, undefined, undefined, first.mark);
    const batch = writeBatch(w, leased);
    await a.complete(batch.completions, undefined, undefined, batch.mark);

    // Page 2's records left the file; the rest are whole, in order, each with its request.
    expect(responses(path)).toEqual([url('0'), url('1'), url('3')]);
    const recs = await parse(path);
    expect(recs.filter((r) => r.type === 'request')).toHaveLength(3);
    const e = await entry(path);
    expect(e).toMatchObject({ owner: 'A', mark: fs.statSync(path).size, start: first.mark.offset });
    expect(e?.drop).toBeUndefined();
    expect(fs.readdirSync(dir).filter((n) => n.includes('.fix-'))).toEqual([]);
    expect(w.mark().offset).toBe(fs.statSync(path).size);
    w.close();
    await a.close();
    await b.close();
  });

  it('a rewrite stopped at any point is finished by a repair', async () => {
    for (const crashAt of ['before-spool', 'after-spool', 'after-cut', 'before-fixed']) {
      const path = join(dir, `${crashAt}.warc.gz`);
      const w = writer(path);
      const { completions, mark } = writeBatch(w, [item('1'), item('2'), item('3')]);
      w.close();
      const drop = completions[1]!.warcIds!;
      const dropSet = new Set(drop);
      const fixed = warcFixed(redis.client(), crawlKeys('t'));
      // The COMPLETE script's entry for a batch whose page 2 lost.
      const e = { owner: 'dead', mark: mark.offset, start: mark.start, drop: drop.join(' ') };
      await redis.client().hset('trawl:{t}:warc', path, JSON.stringify(e));
      // The process dies somewhere in its own rewrite; an uncommitted tail may follow, too.
      if (crashAt === 'after-spool') {
        expect(() =>
          dropRecords(path, e.start, e.mark, dropSet, () => {
            throw new Error('killed');
          }),
        ).toThrow('killed');
      } else if (crashAt === 'after-cut') {
        expect(() =>
          dropRecords(path, e.start, e.mark, dropSet, (at) => {
            fs.truncateSync(path, at + 10); // cut, and part of the kept bytes written
            throw new Error('killed');
          }),
        ).toThrow('killed');
      } else if (crashAt === 'before-fixed') {
        dropRecords(path, e.start, e.mark, dropSet, (at, bytes) => replaceFileTail(path, at, bytes));
      } else {
        fs.appendFileSync(path, Buffer.from([0x1f, 0x8b, 8, 0, 0, 0])); // a torn member past the mark
      }
      const state = await repairWarcFile(path, (await entry(path))!, fixed);
      expect(state.state).toBe('repaired');
      expect(responses(path), crashAt).toEqual([url('1'), url('3')]);
      expect(fs.statSync(path).size).toBe(state.mark);
      expect((await entry(path))?.mark).toBe(state.mark);
      expect((await entry(path))?.drop).toBeUndefined();
      expect(fs.readdirSync(dir).filter((n) => n.includes('.fix-'))).toEqual([]);
      // Repairing again changes nothing.
      expect((await repairWarcFile(path, (await entry(path))!, fixed)).state).toBe('ok');
    }
  });

  it('a COMPLETE run twice (its reply lost) reports no loser the second time', async () => {
    const path = join(dir, 'twice.warc.gz');
    const w = writer(path);
    const a = frontier('A', () => {
      throw new Error('nothing lost: no rewrite expected');
    });
    await a.add([item('1'), item('2')]);
    const leased = await a.lease(2, Date.now(), () => 0);
    const { completions, mark } = writeBatch(w, leased);
    w.close();
    const complete = new LuaScript(S.COMPLETE);
    const keys = S.frontierKeys(a.keys);
    const argv: (string | number)[] = [a.keys.prefix, 0, 0, 'A', 30_000, 2, path, mark.start, mark.offset];
    for (const c of completions)
      argv.push(c.item.url, JSON.stringify(c.record), 0, 0, 0, c.warcIds!.join(' '), '', '1');
    const once = (await complete.run(redis.client(), keys, argv)) as unknown[];
    const twice = (await complete.run(redis.client(), keys, argv)) as unknown[];
    expect(once.at(-1)).toBe('');
    expect(twice.at(-1)).toBe('');
    expect(await entry(path)).toMatchObject({ mark: mark.offset, start: mark.start });
    expect(await redis.client().llen('trawl:{t}:order')).toBe(2);
    await a.close();
  });
});
