import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TEXT, type ShellVerdict, shellSignals } from '../../src/crawl/render/shell-detect.js';
import { type SpaSite, startSpaSite } from '../../src/testsite/spa.js';

const para = (n: number): string => `<p>${'word '.repeat(Math.ceil(n / 4))}</p>`;
const page = (head: string, body: string): string =>
  `<!doctype html><html><head><meta charset="utf-8">${head}</head><body>${body}</body></html>`;

/** Fetches every page of `site` over loopback (8 at a time) and returns path → verdict. */
async function verdicts(site: SpaSite): Promise<Map<string, ShellVerdict>> {
  const out = new Map<string, ShellVerdict>();
  const todo = [...site.pages];
  const worker = async (): Promise<void> => {
    for (let p = todo.shift(); p !== undefined; p = todo.shift()) {
      const r = await fetch(new URL(p.path, site.url));
      expect(r.status).toBe(200);
      out.set(p.path, shellSignals(await r.text()));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

describe('shellSignals on the spa test site', () => {
  let mixed: SpaSite;
  let spa: SpaSite;
  beforeAll(async () => {
    mixed = await startSpaSite({ pages: 200, mixed: 0.1, apiLatencyMs: 0 });
    spa = await startSpaSite({ pages: 20, apiLatencyMs: 0 });
  });
  afterAll(async () => {
    await mixed?.close();
    await spa?.close();
  });

  it('flags every shell and no plain page of a mixed site', async () => {
    const v = await verdicts(mixed);
    const shells = mixed.pages.filter((p) => p.shell).map((p) => p.path);
    expect(shells.length).toBe(20);
    const flagged = mixed.pages.filter((p) => v.get(p.path)!.shell).map((p) => p.path);
    expect(flagged).toEqual(shells);
    for (const p of shells) {
      expect(v.get(p)!.reasons).toEqual(['little-text', 'app-root', 'noscript-js']);
    }
    for (const p of mixed.pages.filter((x) => !x.shell)) {
      // Plain pages: text, links, no script at all.
      expect(v.get(p.path)!).toMatchObject({ shell: false, reasons: [], scripts: 0 });
      expect(v.get(p.path)!.text).toBeGreaterThan(100);
    }
  });

  it('flags every page of the client-rendered site, special pages included', async () => {
    const v = await verdicts(spa);
    expect(spa.pages.length).toBeGreaterThan(20);
    for (const p of spa.pages) expect(v.get(p.path)!.shell, p.path).toBe(true);
  });
});

describe('shellSignals: framework starter shells', () => {
  // Bodies as the starter templates emit them (scripts abbreviated).
  const shells: Record<string, string> = {
    'create-react-app': page(
      '<title>React App</title><script defer src="/static/js/main.1a2b.js"></script>',
      '<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>',
    ),
    'vue-cli': page(
      '<title>my-app</title><script defer src="/js/chunk-vendors.js"></script><script defer src="/js/app.js"></script>',
      '<noscript><strong>We\'re sorry but my-app doesn\'t work properly without JavaScript enabled. Please enable it to continue.</strong></noscript><div id="app"></div>',
    ),
    vite: page(
      '<title>Vite + TS</title>',
      '<div id="app"></div><script type="module" src="/src/main.ts"></script>',
    ),
    'angular-cli': page(
      '<title>MyApp</title><base href="/">',
      '<app-root></app-root><script src="runtime.js" type="module"></script><script src="main.js" type="module"></script>',
    ),
    'next-client-only': page(
      '<title></title>',
      '<div id="__next"></div><script id="__NEXT_DATA__" type="application/json">{"props":{"pageProps":{}},"page":"/"}</script><script src="/_next/static/chunks/main.js" async></script>',
    ),
    'ember/flutter (empty body)': page(
      '<title>App</title>',
      '<script src="flutter_bootstrap.js" async></script>',
    ),
    'loading placeholder': page(
      '<title>Shop</title><script src="/app.js"></script>',
      '<div id="root"><div class="spinner"><div></div><div></div></div><p>Loading…</p></div>',
    ),
    'server chrome around an empty mount point': page(
      '<title>Dashboard</title><script src="/bundle.js"></script>',
      `<header><nav>${Array.from({ length: 12 }, (_, i) => `<a href="/s${i}">Section number ${i}</a>`).join(' ')}</nav></header>` +
        `<div id="app"></div><footer>${para(900)}</footer>`,
    ),
  };
  for (const [name, html] of Object.entries(shells)) {
    it(`flags ${name}`, () => {
      expect(shellSignals(html).shell).toBe(true);
    });
  }

  it('reports each signal that fires', () => {
    expect(shellSignals(shells['create-react-app']!)).toEqual({
      shell: true,
      reasons: ['little-text', 'app-root', 'noscript-js'],
      text: 0,
      scripts: 1,
      scriptBytes: 0,
    });
    expect(shellSignals(shells.vite!).reasons).toEqual(['little-text', 'app-root']);
    expect(shellSignals(shells['angular-cli']!).reasons).toEqual(['little-text', 'app-root']);
  });
});

describe('shellSignals: server-rendered pages are not shells', () => {
  it('a page without an executable script, however empty', () => {
    expect(shellSignals('')).toMatchObject({ shell: false, reasons: [], text: 0, scripts: 0 });
    expect(shellSignals(page('<title>x</title>', '<div id="app"></div>')).shell).toBe(false);
    const dataOnly = page(
      '<script type="application/ld+json">{"@type":"Thing"}</script><script type="importmap">{}</script>',
      '<div id="root"></div><script type="text/x-template" id="t"><div>{{ x }}</div></script><script type="application/json">{"a":1}</script>',
    );
    expect(shellSignals(dataOnly)).toMatchObject({ shell: false, scripts: 0, scriptBytes: 0 });
  });

  it('a blog post with a Disqus <noscript> and scripts', () => {
    const html = page(
      '<title>Post</title><script src="/analytics.js"></script>',
      `<article><h1>A short post</h1>${para(900)}</article><div id="disqus_thread"></div>` +
        '<script>var disqus_config = function () { this.page.url = "x"; };</script>' +
        '<noscript>Please enable JavaScript to view the <a href="https://disqus.com/?ref_noscript">comments powered by Disqus.</a></noscript>',
    );
    const v = shellSignals(html);
    expect(v.reasons).toEqual(['noscript-js']);
    expect(v.shell).toBe(false);
  });

  it('a long page with an empty widget mount point', () => {
    const html = page(
      '<title>Article</title><script src="/widget.js"></script>',
      `${para(DEFAULT_MAX_TEXT + 100)}<div id="root"></div>`,
    );
    const v = shellSignals(html);
    expect(v.reasons).toEqual(['app-root']);
    expect(v.shell).toBe(false);
  });

  it('a server-side rendered Next.js page (content inside __next, state as JSON)', () => {
    const html = page(
      '<title>SSR</title>',
      `<div id="__next"><main><h1>Server rendered</h1>${para(400)}<a href="/next">next</a></main></div>` +
        `<script id="__NEXT_DATA__" type="application/json">${JSON.stringify({ props: { x: 'y'.repeat(50_000) } })}</script>` +
        '<script src="/_next/static/chunks/main.js" async></script>',
    );
    expect(shellSignals(html)).toMatchObject({ shell: false, reasons: [], scripts: 1 });
  });

  it('a redirect stub with meta refresh, a link and location.replace()', () => {
    const html =
      '<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0;URL=../core/struct.X.html"><title>Redirection</title></head>' +
      '<body><p>Redirecting to <a href="../core/struct.X.html">../core/struct.X.html</a>...</p>' +
      '<script>location.replace("../core/struct.X.html" + location.search + location.hash);</script></body></html>';
    const v = shellSignals(html);
    expect(v.reasons).toEqual(['little-text']);
    expect(v.shell).toBe(false);
    // A refresh without a URL (a periodic reload) is no redirect.
    expect(shellSignals(html.replace('0;URL=../core/struct.X.html', '30')).shell).toBe(true);
  });

  it('moderate text with a <noscript> asking for JavaScript: a shell only when inline script dominates', () => {
    const body = `<header><a href="/">Home</a></header>${para(600)}<noscript>This site requires JavaScript.</noscript>`;
    const light = page('<title>t</title><script src="/a.js"></script>', body);
    expect(shellSignals(light)).toMatchObject({ shell: false, reasons: ['noscript-js'] });
    const heavy = page(`<title>t</title><script>${'var a=1;'.repeat(1000)}</script>`, body);
    expect(shellSignals(heavy)).toMatchObject({ shell: true, reasons: ['noscript-js', 'scripts'] });
  });
});

describe('shellSignals: what counts', () => {
  const withScript = (body: string): ShellVerdict =>
    shellSignals(page('<script src="/a.js"></script>', body));

  it('counts visible non-whitespace characters only, entities included', () => {
    expect(withScript('<p>ab  c\n d</p>').text).toBe(4);
    expect(withScript('<p>a&amp;b&nbsp;c&#x41;</p>').text).toBe(5); // nbsp is whitespace
    expect(withScript('<p>a<!-- hidden comment -->b</p>').text).toBe(2);
    expect(withScript('<textarea>typed</textarea><xmp>shown</xmp>').text).toBe(10);
  });

  it('does not count text of title, script, style, noscript, template, iframe', () => {
    const v = shellSignals(
      '<title>Title text</title><style>p{color:red}</style><script>var x = "text";</script>' +
        '<noscript>no script text</noscript><template><p>template text</p></template>' +
        '<iframe><p>fallback</p></iframe><noembed>x</noembed><noframes>y</noframes><p>ok</p>',
    );
    expect(v).toMatchObject({ text: 2, scripts: 1, scriptBytes: 'var x = "text";'.length });
  });

  it('counts executable scripts by type, per the HTML script-type rules', () => {
    const types = [
      '',
      ' type=""',
      ' type="module"',
      ' type="text/javascript"',
      ' type=" TEXT/JavaScript "',
      ' type="application/ecmascript"',
    ];
    const notRun = [
      ' type="application/json"',
      ' type="application/ld+json"',
      ' type="text/x-template"',
      ' type="importmap"',
      ' type="speculationrules"',
      ' type="text/javascript; charset=utf-8"',
      ' type="text/babel"',
    ];
    const run = (attrs: string[]): number =>
      shellSignals(attrs.map((a) => `<script${a}>x()</script>`).join('')).scripts;
    expect(run(types)).toBe(types.length);
    expect(run(notRun)).toBe(0);
    // An external script counts, its (ignored) inline body not as bytes; the first type wins.
    expect(shellSignals('<script src="/a.js">ignored</script>')).toMatchObject({
      scripts: 1,
      scriptBytes: 0,
    });
    expect(shellSignals('<script type="application/json" type="module">{}</script>').scripts).toBe(0);
    expect(shellSignals('<SCRIPT SRC="/a.js"></SCRIPT>').scripts).toBe(1);
  });

  it('a mount point is empty with a placeholder but not with a link or real content', () => {
    expect(
      withScript(`${para(400)}<div id="app"><div class="spin"><div></div></div>Loading…</div>`).reasons,
    ).toContain('app-root');
    expect(withScript(`${para(400)}<div id="app"><a href="/x">x</a></div>`).reasons).not.toContain(
      'app-root',
    );
    expect(
      withScript(`${para(400)}<div id="app"><div><div>${para(60)}</div></div></div>`).reasons,
    ).not.toContain('app-root');
    // Text after the mount point's end tag is not inside it (same-name nesting is tracked).
    expect(withScript(`<div id="app"><div></div></div>${para(400)}`).reasons).toContain('app-root');
    // Case-insensitive names and ids; an unclosed mount point runs to the end of the input.
    expect(withScript(`${para(400)}<DIV ID="APP"></DIV>`).reasons).toContain('app-root');
    expect(withScript(`${para(400)}<div id="__next">`).reasons).toContain('app-root');
    expect(withScript(`${para(400)}<section data-reactroot=""></section>`).reasons).toContain('app-root');
    // Not a mount point: other ids, a mount point inside <template> or <noscript>.
    expect(withScript(`${para(400)}<div id="apps"></div>`).reasons).not.toContain('app-root');
    expect(withScript(`${para(400)}<template><div id="app"></div></template>`).reasons).not.toContain(
      'app-root',
    );
  });

  it('noscript-js needs JavaScript mentioned in a <noscript>', () => {
    expect(withScript('<noscript>Bitte aktivieren Sie JavaScript.</noscript>').reasons).toContain(
      'noscript-js',
    );
    expect(withScript('<noscript>Turn on JS please</noscript>').reasons).toContain('noscript-js');
    // Google Tag Manager's <noscript> holds an iframe and no text.
    expect(
      withScript(
        '<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-X"></iframe></noscript>',
      ).reasons,
    ).not.toContain('noscript-js');
    // Unclosed: runs to the end of the input.
    expect(withScript('<noscript>requires javascript').reasons).toContain('noscript-js');
  });
});

describe('shellSignals: properties', () => {
  // Well-formed documents from a small vocabulary (every element closed).
  const leaf = fc.oneof(
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[<&]/g, ' ')),
    fc.constantFrom(
      '<script src="/x.js"></script>',
      '<script>var a = 1;</script>',
      '<script type="application/json">{"a":1}</script>',
      '<noscript>Please enable JavaScript</noscript>',
      '<a href="/l">link</a>',
      '<div id="app"></div>',
      '<app-root></app-root>',
      '<style>p{}</style>',
      '<!-- c -->',
    ),
  );
  const tree: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc
        .tuple(
          fc.constantFrom('div', 'p', 'span', 'section', 'main'),
          fc.array(tie('node'), { maxLength: 4 }),
        )
        .map(([t, kids]) => `<${t}>${kids.join('')}</${t}>`),
    ),
  })).node;

  it('never throws and measures non-negative counts on any input', () => {
    const tagSoup = fc
      .array(
        fc.constantFrom(
          '<',
          '>',
          '</',
          '/>',
          'div',
          'script',
          'noscript',
          'template',
          'iframe',
          'meta',
          ' id="app"',
          ' src=x',
          '=',
          '"',
          "'",
          '&amp;',
          '&#',
          '<!--',
          '-->',
          'x',
          ' ',
        ),
        { maxLength: 200 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), tagSoup), (s) => {
        const v = shellSignals(s);
        expect(v.text).toBeGreaterThanOrEqual(0);
        expect(v.scripts).toBeGreaterThanOrEqual(0);
        expect(v.shell).toBe(v.shell && v.scripts > 0);
      }),
    );
  });

  it('no executable script: never a shell', () => {
    fc.assert(
      fc.property(tree, (doc) => {
        const stripped = doc.replace(/<script src="\/x.js"><\/script>|<script>var a = 1;<\/script>/g, '');
        expect(shellSignals(page('', stripped)).shell).toBe(false);
      }),
    );
  });

  it('maxText of visible text after the document: never a shell', () => {
    fc.assert(
      fc.property(tree, (doc) => {
        expect(shellSignals(page('', doc + para(DEFAULT_MAX_TEXT))).shell).toBe(false);
      }),
    );
  });

  it('thresholds are options', () => {
    const html = page('<script src="/a.js"></script>', para(300));
    expect(shellSignals(html).shell).toBe(false);
    expect(shellSignals(html, { minText: 1000 }).shell).toBe(true);
    const root = page(
      '<script src="/a.js"></script>',
      `${para(300)}<div id="app">Please wait a moment</div>`,
    );
    expect(shellSignals(root).shell).toBe(true);
    expect(shellSignals(root, { rootText: 5 }).shell).toBe(false);
    expect(shellSignals(root, { maxText: 250 }).shell).toBe(false);
  });
});
