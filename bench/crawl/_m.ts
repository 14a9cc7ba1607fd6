import { SeenSet } from '../../src/crawl/dedup/seen-set.js';

const m = 1_000_000;
const url = (i: number) => `https://host${i % 1000}.example.com/articles/2026/page-${i}.html?ref=nav`;
const s = new SeenSet({ expected: m, fpRate: 0.01 });
const set = new Set<string>();
for (let i = 0; i < m; i++) {
  const u = url(i);
  s.add(u);
  set.add(u);
}
const dup: string[] = [];
for (let i = 0; i < 400_000; i++) dup.push(url((i * 7919) % m));
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  let c = 0;
  for (const u of dup) if (!s.add(u)) c++;
  const a = ((performance.now() - t) * 1e6) / dup.length;
  t = performance.now();
  for (const u of dup) if (set.has(u)) c++;
  const b = ((performance.now() - t) * 1e6) / dup.length;
  console.log(`SeenSet.add dup ${a.toFixed(0)} ns, Set.has ${b.toFixed(0)} ns`, c);
}
