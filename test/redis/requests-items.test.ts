import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Completion, FrontierItem, Item } from '../../src/crawl/frontier/frontier.js';
import { resolveOptions } from '../../src/crawl/options.js';
import { publishSpec, specOf } from '../../src/crawl/redis/crawl-spec.js';
import { exportRedisItems } from '../../src/crawl/redis/export.js';
import { readRedisStatus } from '../../src/crawl/redis/redis-status.js';
import { cleanup, tempDir } from '../helpers/cli.js';
import { item, record } from '../helpers/frontier-items.js';
import { useRedisFrontiers } from '../helpers/redis-frontiers.js';

const fx = useRedisFrontiers('ri');
const frontier = fx.frontier;
afterAll(cleanup);

function post(url: string, body: string, extra: Partial<FrontierItem> = {}): FrontierItem {
  return item(url, { key: `POST ${url} ${body}`, request: { method: 'POST', body }, ...extra });
}

function done(it: FrontierItem, items?: Item[], links: FrontierItem[] = []): Completion {
  const c: Completion = { item: it, record: record(it, null, links), links };
  if (items !== undefined) c.items = items;
  return c;
}

/** Every host may go at once (readyAt 0 ≤ every lease's now). */
const all = () => 0;
const keyOf = (it: FrontierItem) => it.key ?? it.url;

describe('RedisFrontier requests and items', () => {
  it('crawls two POSTs to one URL with different bodies as two items, and the same key once', async () => {
    const a = frontier();
    const b = frontier();
    const shoes = post('http://a/search', 'q=shoes');
    const hats = post('http://a/search', 'q=hats');
    expect(await a.add([shoes, hats, post('http://a/search', 'q=shoes')])).toBe(2);
    expect(await b.add([post('http://a/search', 'q=hats'), item('http://a/search')])).toBe(1);
    // One host's queue is FIFO: a gets both POSTs, b the plain GET of the same URL.
    const fromA = await a.lease(2, 0, all);
    expect(fromA).toEqual([shoes, hats]);
    expect(await b.lease(2, 0, all)).toEqual([item('http://a/search')]);
    // Completing by key: a link back to the same key is not enqueued again; the other POST
    // stays leased.
    expect(await a.complete([done(fromA[0]!, [], [post('http://a/search', 'q=shoes')])])).toBe(0);
    expect(a.stats()).toMatchObject({ done: 1, leased: 2, seen: 3, queued: 0 });
    expect(a.held).toBe(1);
  });

  it('carries key and request through lease, release, and a reaped lease', async () => {
    const a = frontier({ leaseTtlMs: 150 });
    const b = frontier({ leaseTtlMs: 150 });
    const form = post('http://a/form', 'x=1', {
      request: {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"x":1}',
        label: 'FORM',
        userData: { page: 2, tags: ['t'], empty: {} },
      },
    });
    const labelled = item('http://a/list', { request: { label: 'LIST' } });
    await a.add([form, labelled]);
    const got = await a.lease(2, 0, all);
    expect(got.sort((x, y) => keyOf(x).localeCompare(keyOf(y)))).toEqual(
      [form, labelled].sort((x, y) => keyOf(x).localeCompare(keyOf(y))),
    );
    await a.release({ ...got.find((g) => g.key === form.key)!, attempts: 1 });
    const [back] = await b.lease(1, 0, all);
    expect(back).toEqual({ ...form, attempts: 1 });
    // b "dies" holding it: the reaped lease comes back with its request.
    await b.close();
    await new Promise((r) => setTimeout(r, 400));
    const [reaped] = await a.lease(1, 0, all);
    expect(reaped).toEqual({ ...form, attempts: 1 });
  });

  it("stores a page's items only with its record: the first completion wins", async () => {
    const a = frontier({ leaseTtlMs: 150 });
    const b = frontier({ leaseTtlMs: 150 });
    const list = item('http://a/list', { request: { label: 'LIST' } });
    await a.add([list, post('http://a/s', 'q=1')]);
    const [first] = await a.lease(1, 0, all);
    expect(first).toEqual(list);
    await a.close(); // stops renewing: a second process gets the same page
    await new Promise((r) => setTimeout(r, 400));
    const [second] = await b.lease(1, 0, all);
    expect(keyOf(second!)).toBe(keyOf(first!));
    await b.complete([done(second!, [{ n: 'b1' }, { n: 'b2' }])]);
    await b.complete([done(first!, [{ n: 'a1' }])]); // the late one stores nothing
    expect(b.stats()).toMatchObject({ done: 1, items: 2 });
    const [other] = await b.lease(1, 0, all);
    await b.complete([done(other!, [{ n: 'c' }])]);
    expect(b.stats().items).toBe(3);
    await publishSpec(fx.client, fx.name, specOf(resolveOptions({ seeds: ['http://127.0.0.1:1/'] })));
    expect(await readRedisStatus(fx.client, fx.name)).toMatchObject({ done: 2, items: 3 });

    const dir = tempDir('trawl-redis-items-');
    const res = await exportRedisItems(fx.client, fx.name, `${dir}/items.jsonl`);
    expect(res.items).toBe(3);
    const lines = fs.readFileSync(`${dir}/items.jsonl`, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([{ n: 'b1' }, { n: 'b2' }, { n: 'c' }]);
    expect(res.mark.offset).toBe(fs.statSync(`${dir}/items.jsonl`).size);
    const raw = (await fx.client.lrange(b.keys.items, 0, -1)).map((s) => JSON.parse(s));
    expect(raw[0]).toEqual({ url: 'http://a/list', label: 'LIST', item: { n: 'b1' } });
    expect(raw[2]).toEqual({ url: 'http://a/s', label: null, item: { n: 'c' } });
  });

  it('stores thousands of items of one page in one completion', async () => {
    const f = frontier();
    await f.add([item('http://a/big')]);
    const [big] = await f.lease(1, 0, all);
    const items = Array.from({ length: 12_000 }, (_, i) => ({ i }));
    await f.complete([done(big!, items)]);
    expect(f.stats().items).toBe(12_000);
    expect(await fx.client.llen(f.keys.items)).toBe(12_000);
    expect(JSON.parse((await fx.client.lindex(f.keys.items, 11_999))!)).toEqual({
      url: 'http://a/big',
      label: null,
      item: { i: 11_999 },
    });
  });
});
