/**
 * Throughput of the per-page and per-link CPU work: extractPage on a generated ~20 KB page with
 * ~20 links, and normalizeUrl on typical relative links. Run: `npx tsx bench/crawl/extract.bench.ts`.
 * Prints figures only; it asserts nothing (machines differ).
 */
import { extractPage } from '../../src/crawl/parse/extract.js';
import { hostKey, normalizeUrl } from '../../src/crawl/url/normalize.js';

function makePage(targetBytes: number, links: number): string {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Benchmark page &amp; friends</title>
<meta name="description" content="A generated page for extractPage throughput.">
<link rel="canonical" href="https://bench.example/articles/page?utm_source=x">
<link rel="stylesheet" href="/static/site.css"><script src="/static/app.js"></script>
<style>body{font-family:sans-serif}.card{margin:1em}</style></head><body><nav>`;
  const linkHtml: string[] = [];
  for (let i = 0; i < links; i++) {
    linkHtml.push(
      `<a href="${i % 3 === 0 ? `/articles/${i}` : i % 3 === 1 ? `../cat/${i}/?p=${i}#top` : `https://other${i}.example/x`}" class="nav">Link ${i}</a>`,
    );
  }
  const para =
    '<div class="card"><p>Lorem ipsum dolor sit amet, <em>consectetur</em> adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. <span class="x">Ut enim</span> ad minim veniam &mdash; quis nostrud.</p></div>\n';
  let body = '';
  const perLinkGap = Math.max(1, Math.floor((targetBytes - head.length) / para.length / links));
  for (const l of linkHtml) body += l + para.repeat(perLinkGap);
  return `${head}</nav><main>${body}</main><footer><a href="/about" rel="nofollow">About</a></footer></body></html>`;
}

function bench(label: string, fn: () => void, minMs = 1500): number {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 100; i++) fn();
    n += 100;
    elapsed = performance.now() - start;
  }
  const perSec = (n / elapsed) * 1000;
  console.log(
    `${label}: ${Math.round(perSec).toLocaleString('en-US')} ops/s (${((elapsed / n) * 1000).toFixed(2)} µs/op)`,
  );
  return perSec;
}

const page = makePage(20 * 1024, 20);
const kb = Buffer.byteLength(page) / 1024;
const sample = extractPage(page, 'https://bench.example/articles/page');
console.log(
  `page: ${kb.toFixed(1)} KB, ${sample.links.length} distinct links, title ${JSON.stringify(sample.title)}`,
);
const extractOpts = { normalize: { stripParams: ['utm_*'] } };
const pagesPerSec = bench('extractPage (20 KB page)', () => {
  extractPage(page, 'https://bench.example/articles/page', extractOpts);
});
console.log(
  `  = ${(1000 / pagesPerSec / kb).toFixed(4)} ms per KB, ${((pagesPerSec * kb) / 1024).toFixed(1)} MB/s`,
);

const rel = [
  '/articles/42',
  '../cat/7/?p=7#top',
  'https://Other.Example:443/x/./y/../z',
  'page.html?utm_source=a&id=3',
  '#frag',
];
const normOpts = { stripParams: ['utm_*'] }; // reused, as crawl code does: compiled globs are cached per array
let k = 0;
bench('normalizeUrl (relative + base, stripParams)', () => {
  normalizeUrl(rel[k++ % rel.length]!, 'https://bench.example/a/b/c', normOpts);
});
bench('normalizeUrl (absolute, no options)', () => {
  normalizeUrl('https://bench.example/articles/42?x=1');
});
bench('hostKey (normalized URL)', () => {
  hostKey('https://bench.example:8443/articles/42?x=1');
});
