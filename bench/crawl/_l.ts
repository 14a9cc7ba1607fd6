import * as fs from 'node:fs';
import { SqliteFrontier } from '../../src/crawl/state/sqlite-frontier.js';
import { openState } from '../../src/crawl/state/state-db.js';
const file = '/tmp/smoke/l.state';
for (const hosts of [1, 10, 1000]) {
  for (const f of [file, file + '-wal', file + '-shm']) fs.rmSync(f, { force: true });
  const f = new SqliteFrontier(openState(file, { create: true, name: 'x' }));
  const items = [];
  for (let i = 0; i < 50_000; i++) items.push({ url: `https://h${i % hosts}.example.com/p/${i}`, host: `h${i % hosts}.example.com`, depth: 1, referrer: null, attempts: 0 });
  f.add(items);
  let t = performance.now();
  let n = 0;
  for (let i = 0; i < 20_000; i++) n += f.lease(1, 1, () => true).length;
  const a = (performance.now() - t) * 1000 / 20_000;
  const st = f.stats();
  console.log(`hosts=${hosts} lease(1): ${a.toFixed(1)} µs/op`, n, st.leased);
  f.close();
}
