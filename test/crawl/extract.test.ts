import { describe, expect, it } from 'vitest';
import { extractPage } from '../../src/crawl/parse/extract.js';
import { normalizeUrl } from '../../src/crawl/url/normalize.js';
import { readConformanceJson } from '../helpers/conformance.js';

interface Html5libCase {
  file: string;
  index: number;
  html: string;
  expected_title: string | null;
  expected_links: { tag: string; attr: string; value: string }[];
  expected_base_href: string | null;
}

const PAGE = 'https://example.org/dir/page.html';
const urls = (html: string, page = PAGE) => extractPage(html, page).links.map((l) => l.url);

describe('extractPage vs html5lib tree-construction documents', () => {
  const cases = readConformanceJson<Html5libCase[]>('html-links-titles-html5lib.json');
  it('has the 37 documents', () => expect(cases.length).toBe(37));
  for (const c of cases) {
    it(`${c.file}#${c.index}: ${JSON.stringify(c.html).slice(0, 70)}`, () => {
      const page = extractPage(c.html, PAGE);
      expect(page.title).toBe(c.expected_title);
      expect(page.baseHref).toBe(c.expected_base_href);
      // The expected list is per DOM element: the tree builder clones <a> elements (adoption
      // agency / reconstruction of active formatting elements), repeating their href. trawl
      // reports distinct URLs in first-occurrence order, which the clones cannot change.
      const want = [
        ...new Set(c.expected_links.map((l) => normalizeUrl(l.value, c.expected_base_href ?? PAGE))),
      ].filter((u) => u !== null);
      expect(page.links.map((l) => l.url)).toEqual(want);
    });
  }
});

describe('extractPage fields', () => {
  it('reads title, description, canonical, robots, links from an ordinary page', () => {
    const html = `<!doctype html><html><head>
      <title>  Hello,
        World &amp; Co  </title>
      <meta name="description" content="  A  page
      about things ">
      <link rel="canonical" href="/dir/page.html?utm_source=x#top">
      <meta name="robots" content="index, nofollow">
      <link rel="stylesheet" href="/style.css">
      <link rel="alternate" hreflang="de" href="/de/">
      <link rel="next" href="page2.html"><link rel="PREV" href="page0.html">
      </head><body>
      <a href="/a">A</a> <a href="b#frag">B</a> <a href="/a#again">A2</a>
      <a href="mailto:me@example.org">mail</a> <a href="javascript:void(0)">js</a>
      <a href="tel:123">t</a> <a>no href</a> <a href="http://[bad">bad</a>
      <map><area href="/area" alt=""></map>
      <a href="https://other.example/x?b=2&amp;a=1">ext</a>
      </body></html>`;
    const p = extractPage(html, PAGE, { normalize: { stripParams: ['utm_*'] } });
    expect(p.title).toBe('Hello, World & Co');
    expect(p.description).toBe('A page about things');
    expect(p.canonical).toBe('https://example.org/dir/page.html');
    expect(p.baseHref).toBeNull();
    expect(p.robots).toEqual({ noindex: false, nofollow: true });
    expect(p.links.map((l) => l.url)).toEqual([
      'https://example.org/de/',
      'https://example.org/dir/page2.html',
      'https://example.org/dir/page0.html',
      'https://example.org/a',
      'https://example.org/dir/b',
      'https://example.org/area',
      'https://other.example/x?b=2&a=1',
    ]);
  });

  it('returns nulls and no links for an empty or text-only document', () => {
    for (const html of ['', 'just text', '<', '<!--', '<a', '<a href="/x']) {
      const p = extractPage(html, PAGE);
      expect(p.title).toBeNull();
      expect(p.description).toBeNull();
      expect(p.canonical).toBeNull();
      expect(p.robots).toEqual({ noindex: false, nofollow: false });
    }
    expect(extractPage('<title></title>', PAGE).title).toBe('');
  });

  it('handles uppercase tags and attributes, missing head, unquoted and entity-laden attributes', () => {
    const p = extractPage(
      '<TITLE>Up</TITLE><A HREF=/x?a=1&amp;b=2>x</A><a href="/y?c=&copy=1">y</a><a href=\'/z?q=&lt;\'>z</a>',
      PAGE,
    );
    expect(p.title).toBe('Up');
    // `&copy=` in an attribute is not a character reference (legacy rule for attributes).
    expect(p.links.map((l) => l.url)).toEqual([
      'https://example.org/x?a=1&b=2',
      'https://example.org/y?c=&copy=1',
      'https://example.org/z?q=%3C',
    ]);
  });

  it('keeps the first of duplicate attributes', () => {
    expect(urls('<a href="/first" href="/second">')).toEqual(['https://example.org/first']);
  });

  it('resolves links against the first <base href>, also links before it', () => {
    const p = extractPage(
      '<a href="before">b</a><base target="_top"><base href="https://cdn.example/root/x.html"><base href="/ignored/"><a href="after">a</a><link rel=canonical href="c">',
      PAGE,
    );
    expect(p.baseHref).toBe('https://cdn.example/root/x.html');
    expect(p.links.map((l) => l.url)).toEqual([
      'https://cdn.example/root/before',
      'https://cdn.example/root/after',
    ]);
    expect(p.canonical).toBe('https://cdn.example/root/c');
    expect(extractPage('<base href="../up/"><a href="x">', PAGE).baseHref).toBe('https://example.org/up/');
    // An unresolvable base leaves the page URL as base.
    const bad = extractPage('<base href="http://[oops/"><a href="x">', PAGE);
    expect(bad.baseHref).toBeNull();
    expect(bad.links.map((l) => l.url)).toEqual(['https://example.org/dir/x']);
  });

  it('marks nofollow per URL: nofollow only if every link to it is nofollow', () => {
    const p = extractPage(
      '<a href="/n" rel="NoFollow">1</a><a href="/m" rel="ugc nofollow">2</a><a href="/m">3</a><link rel="next nofollow" href="/p2">',
      PAGE,
    );
    expect(p.links).toEqual([
      { url: 'https://example.org/n', nofollow: true },
      { url: 'https://example.org/m', nofollow: false },
      { url: 'https://example.org/p2', nofollow: true },
    ]);
  });

  it('reads robots tokens: none, case, several tags, user-agent token', () => {
    expect(extractPage('<meta name="ROBOTS" content="NONE">', PAGE).robots).toEqual({
      noindex: true,
      nofollow: true,
    });
    expect(
      extractPage('<meta name=robots content=noindex><meta name=robots content=" nofollow ">', PAGE).robots,
    ).toEqual({ noindex: true, nofollow: true });
    expect(extractPage('<meta name=trawl content=noindex>', PAGE).robots.noindex).toBe(false);
    expect(
      extractPage('<meta name=Trawl content=noindex>', PAGE, { userAgentToken: 'trawl' }).robots.noindex,
    ).toBe(true);
    expect(extractPage('<meta name=robots content="noindexx, follow">', PAGE).robots).toEqual({
      noindex: false,
      nofollow: false,
    });
  });

  it('treats raw-text elements as text, as browsers do', () => {
    const html = `<script>var s = '<a href="/script">';</script><style>a[href="/style"]{}</style>
      <textarea><a href="/textarea"></textarea><xmp><a href="/xmp"></xmp><!-- <a href="/comment"> -->
      <iframe><a href="/iframe"></iframe><noembed><a href="/noembed"></noembed>
      <noscript><a href="/noscript">x</a></noscript><a href="/real">r</a>
      <plaintext><a href="/plaintext">`;
    expect(urls(html)).toEqual(['https://example.org/noscript', 'https://example.org/real']);
  });

  it('ignores <title> inside svg and template, but follows svg links', () => {
    const p = extractPage(
      '<svg><title>Icon</title><a href="/svg-link"><text>x</text></a></svg><template><title>T</title><base href="/t/"></template><title>Real</title>',
      PAGE,
    );
    expect(p.title).toBe('Real');
    expect(p.baseHref).toBeNull();
    expect(p.links.map((l) => l.url)).toEqual(['https://example.org/svg-link']);
    expect(extractPage('<svg/><title>After</title>', PAGE).title).toBe('After');
    expect(extractPage('<svg><p>breakout<title>Out</title>', PAGE).title).toBe('Out');
  });

  it('skips everything inside an inert <template>: links, title, meta, base and canonical (as the DOM)', () => {
    const p = extractPage(
      `<template><a href="/in-template">x</a><area href="/area-t"><link rel=next href="/next-t">
        <link rel=canonical href="/canon-t"><meta name=description content="tpl"><meta name=robots content=noindex>
        <template><a href="/nested"></a></template><a href="/still-in"></a></template>
       <TEMPLATE shadowrootmode=bogus><a href="/bogus-mode"></a></TEMPLATE>
       <a href="/outside">o</a><meta name=description content="real">`,
      PAGE,
    );
    expect(p.links.map((l) => l.url)).toEqual(['https://example.org/outside']);
    expect(p.canonical).toBeNull();
    expect(p.description).toBe('real');
    expect(p.robots.noindex).toBe(false);
  });

  it('keeps links of a declarative shadow root (rendered content), not its title or base', () => {
    const p = extractPage(
      `<div><template shadowrootmode="open"><a href="/shadow">s</a><title>No</title><base href="/b/">
        <template><a href="/inert-in-shadow"></a></template><a href="/shadow-after"></a></template></div>
       <div><template SHADOWROOTMODE="Closed"><a href="/closed"></a></template></div><title>Yes</title>`,
      PAGE,
    );
    expect(p.links.map((l) => l.url)).toEqual([
      'https://example.org/shadow',
      'https://example.org/shadow-after',
      'https://example.org/closed',
    ]);
    expect(p.title).toBe('Yes');
    expect(p.baseHref).toBeNull();
  });

  it('treats <template> inside svg as an ordinary element', () => {
    expect(urls('<svg><template><a href="/svg-template"></a></template></svg><a href="/after">')).toEqual([
      'https://example.org/svg-template',
      'https://example.org/after',
    ]);
  });

  it('strips only ASCII whitespace from titles and descriptions, as document.title does', () => {
    const p = extractPage(
      '<title> \t\u3000第一章\u3000 はじめに \n</title><meta name=description content="\u00a0 indented\u00a0\r\n">',
      PAGE,
    );
    expect(p.title).toBe('\u3000第一章\u3000 はじめに');
    expect(p.description).toBe('\u00a0 indented\u00a0');
    expect(extractPage('<title>\u00a0\u00a0</title>', PAGE).title).toBe('\u00a0\u00a0');
    expect(extractPage('<title>&#x3000;A&nbsp;</title>', PAGE).title).toBe('\u3000A\u00a0');
    expect(extractPage('<title>\f\r\n\t </title>', PAGE).title).toBe('');
    // U+000B (vertical tab) is not ASCII whitespace in HTML: kept.
    expect(extractPage('<title>\u000bX</title>', PAGE).title).toBe('\u000bX');
  });

  it('caps distinct links at maxLinks, keeping the first ones', () => {
    const html = Array.from({ length: 50 }, (_, i) => `<a href="/p${i}">`).join('');
    expect(urls(html).length).toBe(50);
    const p = extractPage(html, PAGE, { maxLinks: 10 });
    expect(p.links.map((l) => l.url)).toEqual(
      Array.from({ length: 10 }, (_, i) => `https://example.org/p${i}`),
    );
  });
});

describe('extractPage on hostile input (correctness, not timing)', () => {
  it('100k links: default cap of 10k, all of them with maxLinks=Infinity', () => {
    const parts: string[] = ['<title>many</title>'];
    for (let i = 0; i < 100_000; i++) parts.push(`<li><a href="/item/${i}">${i}</a>`);
    const html = parts.join('\n');
    const capped = extractPage(html, PAGE);
    expect(capped.links.length).toBe(10_000);
    expect(capped.links[9_999]!.url).toBe('https://example.org/item/9999');
    const all = extractPage(html, PAGE, { maxLinks: Number.POSITIVE_INFINITY });
    expect(all.links.length).toBe(100_000);
    expect(all.links[99_999]!.url).toBe('https://example.org/item/99999');
    expect(all.title).toBe('many');
  });

  it('10k-deep nesting of divs, anchors and svg', () => {
    const depth = 10_000;
    const html = `<title>deep</title>${'<div><span>'.repeat(depth)}<a href="/deep">d</a>${'</span></div>'.repeat(depth)}${'<a href="/n">'.repeat(depth)}${'<svg>'.repeat(depth)}<title>no</title><a href="/in-svg">`;
    const p = extractPage(html, PAGE);
    expect(p.title).toBe('deep');
    expect(p.links.map((l) => l.url)).toEqual([
      'https://example.org/deep',
      'https://example.org/n',
      'https://example.org/in-svg',
    ]);
    // Unmatched end tags by the ten thousand cost nothing either.
    const q = extractPage(`${'</div>'.repeat(depth)}${'<b>'.repeat(depth)}<a href="/after">`, PAGE);
    expect(q.links.map((l) => l.url)).toEqual(['https://example.org/after']);
  });

  it('50 MB of HTML', () => {
    const chunk = `<div class="row"><p>${'lorem ipsum dolor sit amet '.repeat(30)}</p><a href="/same">same</a></div>\n`;
    const html = `<head><title>big</title><meta name=description content="huge page"></head>${chunk.repeat(Math.ceil((50 * 1024 * 1024) / chunk.length))}<a href="/last">last</a>`;
    expect(html.length).toBeGreaterThanOrEqual(50 * 1024 * 1024);
    const p = extractPage(html, PAGE);
    expect(p.title).toBe('big');
    expect(p.description).toBe('huge page');
    expect(p.links.map((l) => l.url)).toEqual(['https://example.org/same', 'https://example.org/last']);
  });

  it('a 100k-character URL and an unterminated title run to the end without blowing up', () => {
    const long = `/${'x'.repeat(100_000)}`;
    const p = extractPage(`<a href="${long}">x</a><a href='/ok'>`, PAGE);
    expect(p.links.map((l) => l.url)).toEqual([`https://example.org${long}`, 'https://example.org/ok']);
    const t = extractPage(`<title>${'word '.repeat(1_000_000)}`, PAGE);
    expect(t.title!.startsWith('word word')).toBe(true);
    expect(t.title!.length).toBeLessThanOrEqual(64 * 1024);
    const attr = extractPage(`<a href="${'y'.repeat(5_000_000)}`, PAGE);
    expect(attr.links).toEqual([]);
  });

  it('never throws on garbage (property-like sweep)', () => {
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const bits = [
      '<',
      '>',
      '</',
      'a',
      ' href=',
      '"',
      "'",
      '&amp;',
      '&',
      '#',
      '<title>',
      '</title>',
      '<!--',
      '-->',
      '<base href=',
      '<svg>',
      '<script>',
      '\u0000',
      'é',
      '\n',
      '/',
      '=',
      'x',
    ];
    for (let n = 0; n < 2000; n++) {
      let s = '';
      const len = Math.floor(rnd() * 40);
      for (let i = 0; i < len; i++) s += bits[Math.floor(rnd() * bits.length)];
      const p = extractPage(s, PAGE);
      for (const l of p.links) expect(l.url).toMatch(/^https?:\/\//);
    }
    expect(extractPage('<a href="/x">', 'not a url').links).toEqual([]);
    expect(extractPage('<a href="https://abs.example/">', 'not a url').links[0]!.url).toBe(
      'https://abs.example/',
    );
  });
});
