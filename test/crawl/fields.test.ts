import { describe, expect, it } from 'vitest';
import {
  extractFields,
  type FieldSpec,
  parseFieldSpec,
  parseFieldSpecs,
} from '../../src/crawl/parse/fields.js';

describe('parseFieldSpec', () => {
  it('parses name=selector and name=selector@attr', () => {
    expect(parseFieldSpec('title=h1')).toEqual({ name: 'title', selector: 'h1' });
    expect(parseFieldSpec(' price = .product .price ')).toEqual({
      name: 'price',
      selector: '.product .price',
    });
    expect(parseFieldSpec('img=img.hero@src')).toEqual({ name: 'img', selector: 'img.hero', attr: 'src' });
    expect(parseFieldSpec('links=a[href^="/"]@HREF')).toEqual({
      name: 'links',
      selector: 'a[href^="/"]',
      attr: 'href',
    });
    expect(parseFieldSpec('og=meta[property="og:title"]@content')).toEqual({
      name: 'og',
      selector: 'meta[property="og:title"]',
      attr: 'content',
    });
    // An @ inside an attribute selector is part of the selector.
    expect(parseFieldSpec('mail=a[href*="@x"]')).toEqual({ name: 'mail', selector: 'a[href*="@x"]' });
    expect(parseFieldSpec('eq=a[title="a=b"]')).toEqual({ name: 'eq', selector: 'a[title="a=b"]' });
  });

  it('refuses bad specs with a message quoting them', () => {
    expect(() => parseFieldSpec('h1')).toThrow(/"h1".*name=selector/);
    expect(() => parseFieldSpec('=h1')).toThrow(/"=h1": empty name/);
    expect(() => parseFieldSpec('  =h1')).toThrow(/empty name/);
    expect(() => parseFieldSpec('my name=h1')).toThrow(/name must/);
    expect(() => parseFieldSpec('x=')).toThrow(/empty selector/);
    expect(() => parseFieldSpec('x=@href')).toThrow(/empty selector/);
    expect(() => parseFieldSpec('x=div[')).toThrow(/"x=div\[": bad selector/);
    expect(() => parseFieldSpec('x=p:nosuchpseudo')).toThrow(/bad selector/);
    expect(() => parseFieldSpec('x=>>')).toThrow(/bad selector/);
  });

  it('parseFieldSpecs refuses duplicate names', () => {
    expect(parseFieldSpecs(['a=h1', 'b=h2']).map((s) => s.name)).toEqual(['a', 'b']);
    expect(() => parseFieldSpecs(['a=h1', 'a=h2'])).toThrow(/"a" is used twice/);
  });
});

describe('extractFields', () => {
  const html = `<html><head><title>T</title><meta property="og:image" content=" /og.png "></head><body>
    <h1>  Main   heading </h1>
    <ul><li class="tag">red</li><li class="tag">green <b>bold</b></li><li class="tag"></li></ul>
    <a href="/one">1</a><a>no href</a><a href="/two">2</a>
    <div id="deep">${'<div>'.repeat(5000)}deep text${'</div>'.repeat(5000)}</div>
  </body></html>`;

  it('gives string for one match, array for several, null for none', () => {
    const specs = parseFieldSpecs([
      'h=h1',
      'tags=li.tag',
      'hrefs=a@href',
      'og=meta[property="og:image"]@content',
      'missing=.nope',
      'noattr=h1@data-x',
      'deep=#deep',
    ]);
    expect(extractFields(html, specs)).toEqual({
      h: 'Main   heading',
      tags: ['red', 'green bold', ''],
      hrefs: ['/one', '/two'],
      og: '/og.png',
      missing: null,
      noattr: null,
      deep: 'deep text',
    });
  });

  it('returns {} for no specs and copes with malformed HTML', () => {
    expect(extractFields(html, [])).toEqual({});
    expect(extractFields('<p>unclosed <b>bold <i>it', parseFieldSpecs(['p=p', 'i=i']))).toEqual({
      p: 'unclosed bold it',
      i: 'it',
    });
  });

  it('strips only ASCII whitespace from values, keeping U+3000 and U+00A0', () => {
    expect(
      extractFields(
        '<h1>\n \u3000見出し\u00a0 </h1><p data-x=" \u00a0v ">',
        parseFieldSpecs(['h=h1', 'x=p@data-x']),
      ),
    ).toEqual({ h: '\u3000見出し\u00a0', x: '\u00a0v' });
  });

  it('does not see into inert <template> content, but does into a declarative shadow root', () => {
    const page =
      '<template><b>inert</b></template><div><template shadowrootmode="open"><b>shadow</b></template></div><b>doc</b>';
    expect(extractFields(page, parseFieldSpecs(['b=b', 't=template']))).toEqual({
      b: ['shadow', 'doc'],
      t: ['', 'shadow'],
    });
  });

  it('compiles hand-made specs on first use and reports bad ones', () => {
    const spec: FieldSpec = { name: 'x', selector: 'b' };
    expect(extractFields('<b>1</b><b>2</b>', [spec])).toEqual({ x: ['1', '2'] });
    expect(() => extractFields('<b>', [{ name: 'y', selector: '[[' }])).toThrow(/bad selector/);
  });
});
