// extractPage's `document` option builds the page's DOM in the same tokenizer pass as the link
// extraction (a scraper's `$` then costs no second parse). It must change nothing: the DOM must
// be the one cheerio's htmlparser2 mode builds (`parseDocument(html)`), node for node, and every
// extracted field must be what the plain pass extracts.

import type { AnyNode, Document } from 'domhandler';
import fc from 'fast-check';
import { parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { extractPage } from '../../src/crawl/parse/extract.js';
import { readConformanceJson } from '../helpers/conformance.js';

const PAGE = 'https://example.org/dir/page.html';

/** A node as plain data: type, name, attributes (in order), text, children. */
function shape(node: AnyNode): unknown {
  const n = node as AnyNode & {
    name?: string;
    attribs?: Record<string, string>;
    data?: string;
    children?: AnyNode[];
  };
  return {
    type: n.type,
    name: n.name,
    attribs: n.attribs === undefined ? undefined : Object.entries(n.attribs),
    data: n.data,
    children: n.children?.map(shape),
  };
}

function expectSame(html: string): void {
  const plain = extractPage(html, PAGE);
  const { document, ...withDom } = extractPage(html, PAGE, { document: true });
  expect(withDom).toEqual(plain);
  expect(document).toBeDefined();
  expect(shape(document as Document)).toEqual(shape(parseDocument(html)));
}

describe('extractPage({ document: true })', () => {
  it('returns no document unless asked', () => {
    expect(extractPage('<p>a</p>', PAGE).document).toBeUndefined();
    expect(extractPage('<p>a</p>', PAGE, { document: false }).document).toBeUndefined();
  });

  it('builds what parseDocument builds for the html5lib tree-construction documents', () => {
    const cases = readConformanceJson<{ html: string }[]>('html-links-titles-html5lib.json');
    expect(cases.length).toBeGreaterThan(30);
    for (const c of cases) expectSame(c.html);
  });

  it('builds what parseDocument builds for markup the tokenizer treats specially', () => {
    const pages = [
      '<!doctype html><html><head><title>A <b>bold</b> &amp; title</title><base href="/x/"></head>' +
        '<body><a href="a?x=1&amp;y=2">a</a></body></html>',
      '<script>var s = "<a href=/no>";</script><style>a{}</style><a href=/yes>y</a>',
      '<textarea><a href=/no></textarea><xmp><a href=/no2></xmp><iframe><a href=/f></iframe>',
      '<!-- <a href=/c> --><![CDATA[ <a href=/d> ]]><?pi x?><a href=/e>e</a>',
      '<svg><a href=/s><title>svg title</title></a><foreignObject><p>x</p></foreignObject></svg>',
      '<template><a href=/t>t</a></template><template shadowrootmode=open><a href=/sh>s</a></template>',
      '<p><div>implied</div><table><tr><td>1<td>2</table><li>a<li>b<dd>c<dt>d',
      '<a href="/q" href="/dup" REL="NoFollow">case</a><img src=x alt="&lt;&#x41;&#65;&copy">',
      '<meta name=robots content="noindex, nofollow"><link rel="canonical next" href=/n>',
      '<title>unclosed title <a href=/in-title>',
      '<plaintext><a href=/p>p</a></plaintext>',
      '<a href=/1><a href=/2>nested</a></a><br/><br></br><p/>',
      '',
      '\uFEFF<a href=\u00e9t\u00e9>\u00e9</a>\u0000<a href=/nul\u0000x>n</a>',
    ];
    for (const html of pages) expectSame(html);
  });

  it('builds what parseDocument builds for arbitrary markup-like input', () => {
    const piece = fc.constantFrom(
      '<a href="/x">',
      '<a href=/y rel=nofollow>',
      '</a>',
      '<title>',
      '</title>',
      '<script>',
      '</script>',
      '<style>',
      '<svg>',
      '</svg>',
      '<template>',
      '</template>',
      '<base href="/b/">',
      '<meta name=description content="d">',
      '<!--',
      '-->',
      '<![CDATA[',
      ']]>',
      '<p>',
      '<div class="c">',
      '</div>',
      '&amp;',
      '&lt;',
      '&#x3c;',
      '"',
      "'",
      '=',
      '<',
      '>',
      '/',
      ' ',
      'text',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => {
        expectSame(parts.join(''));
      }),
      { numRuns: 300 },
    );
  });
});
