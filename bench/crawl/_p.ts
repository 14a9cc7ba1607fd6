import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import { SCHEMA_V1 } from '../../src/crawl/state/schema.js';
const H = (i: number, mode: string) => mode === 'rr' ? i % 1000 : Math.floor(i / 20) % 1000;
const url = (i: number, mode: string) => `https://host${H(i, mode)}.example.com/articles/2026/page-${i}.html?ref=nav`;
function run(label: string, mode: string, pragmas: string[], B = 1000) {
  const f = '/tmp/smoke/p.db';
  for (const x of [f, f + '-wal', f + '-shm']) fs.rmSync(x, { force: true });
  const db = new Database(f);
  db.pragma('journal_mode = WAL'); db.pragma('synchronous = NORMAL'); db.pragma('cache_size = -32768');
  for (const p of pragmas) db.pragma(p);
  db.exec(SCHEMA_V1);
  const ins = db.prepare('INSERT OR IGNORE INTO frontier (url, host, depth, referrer, attempts, not_before, state, seq, lastmod) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)');
  const tx = db.transaction((a: number, b: number) => { for (let i = a; i < b; i++) ins.run(url(i, mode), `host${H(i, mode)}.example.com`, 1, 'https://host0.example.com/', 0, 0, i, null); });
  const t = performance.now();
  const n = 200000;
  for (let i = 0; i < n; i += B) tx(i, i + B);
  const ms = performance.now() - t;
  console.log(label, Math.round(n / (ms / 1000)), 'rows/s');
  db.close();
}
run('rr', 'rr', []);
run('rr ckpt 10000', 'rr', ['wal_autocheckpoint = 10000']);
run('rr B=10000', 'rr', [], 10000);
run('page-grouped', 'pg', []);
run('page-grouped ckpt 10000', 'pg', ['wal_autocheckpoint = 10000']);
run('rr', 'rr', []);
