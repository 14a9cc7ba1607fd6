/**
 * The handler's `$`: a cheerio document built only when first used. Importing this module loads
 * cheerio's htmlparser2 build (`cheerio/slim`), so only scraper crawls ever load it.
 *
 * Why not `cheerio.load(html)` per page: every load() defines a new class, and V8 keeps classes
 * in the old generation, which then holds each page's young DOM alive through scavenges: the
 * DOMs get promoted and collected by full GCs. Measured on a 10 kB page: 630 us per load()
 * against 170 us for the same htmlparser2 parse (bench page, this machine). So each thread
 * load()s one empty document once and each page's `$` is that API bound to the page's own
 * root and options, through cheerio's public `$(selector, context, root, options)` signature.
 */
import type { CheerioAPI, CheerioOptions } from 'cheerio';
import { load } from 'cheerio/slim';
import type { Document } from 'domhandler';
import { parseDocument } from 'htmlparser2';

/** How many documents this thread has built (a test hook: proves `$` stays lazy). */
export const cheerioStats = { loads: 0 };

let shared: CheerioAPI | null = null;

type Query = (selector?: unknown, context?: unknown, root?: unknown, options?: CheerioOptions) => unknown;

/**
 * The thread's one loaded (empty) document. Its selections derive new ones through `_make`,
 * which by default forgets the root and options they were made with (they come from load());
 * here a derived selection keeps its parent's, so `$('ul').find('a').prop('href')` still
 * resolves against the page's baseURI. Patched on this private instance's prototype only.
 */
function sharedApi(): CheerioAPI {
  const api = load('');
  const init = api as unknown as Query;
  type Selection = { _root: unknown; options: CheerioOptions; prevObject?: unknown };
  (api.fn as unknown as { _make: unknown })._make = function (
    this: Selection,
    selector: unknown,
    context: unknown,
  ) {
    const made = init(selector, context, this._root ?? undefined, this.options) as Selection;
    made.prevObject = this;
    return made;
  };
  return api;
}

/**
 * A CheerioAPI for `doc`: `$(sel)` queries `doc`, static methods (`$.root()`, `$.html()`,
 * `$.text()`, `$.extract()`...) see `doc` as the root (`_root`) and `options` (baseURI) as theirs,
 * `$.fn`, `$.load` and `instanceof $` are the shared instance's.
 */
function boundApi(doc: Document, options: CheerioOptions): CheerioAPI {
  shared ??= sharedApi();
  const base = shared as unknown as Query & Record<string, unknown>;
  const opts = { ...(base._options as object), ...options };
  const api = function (
    this: unknown,
    selector?: unknown,
    context?: unknown,
    root?: unknown,
    o?: CheerioOptions,
  ) {
    return base(selector, context, root ?? doc, o ?? opts);
  };
  Object.assign(api, base, { _root: doc, _options: opts });
  api.prototype = (base as { prototype: unknown }).prototype;
  return api as unknown as CheerioAPI;
}

/** A page's lazily built cheerio document. */
export class LazyDocument {
  #api: CheerioAPI | null = null;
  #proxy: CheerioAPI | null = null;
  #prebuilt: Document | undefined;

  /**
   * `prebuilt`: the page's DOM when it was already built from `html` (by extractPage's
   * `document` option, which builds exactly what `parseDocument(html)` does); it then counts as
   * this page's one build and `get()` only binds it.
   */
  constructor(
    private readonly html: string,
    private readonly baseURI: string,
    prebuilt?: Document,
  ) {
    this.#prebuilt = prebuilt;
    if (prebuilt !== undefined) cheerioStats.loads++;
  }

  /** The document, built on the first call (cheerio's htmlparser2 mode, `baseURI` set; see boundApi). */
  get(): CheerioAPI {
    if (this.#api === null) {
      let doc = this.#prebuilt;
      if (doc === undefined) {
        cheerioStats.loads++;
        // htmlparser2's defaults, as cheerio/slim's load() parses.
        doc = parseDocument(this.html);
      }
      this.#prebuilt = undefined;
      this.#api = boundApi(doc, { baseURI: this.baseURI });
    }
    return this.#api;
  }

  /** Whether the document was used (`get()` called, directly or through the stand-in). */
  get used(): boolean {
    return this.#api !== null;
  }

  /**
   * A stand-in for the document that builds it on first use: calling it (`$('h1')`) or reading a
   * property (`$.root()`) forwards to the real one, so `({ $ }) => ...` destructuring costs
   * nothing. Methods called through it see the stand-in as `this`, whose reads forward too.
   */
  proxy(): CheerioAPI {
    if (this.#proxy === null) {
      const real = (): CheerioAPI => this.get();
      const target = (() => undefined) as unknown as CheerioAPI;
      this.#proxy = new Proxy(target, {
        apply: (_t, _this, args: unknown[]) => (real() as unknown as (...a: unknown[]) => unknown)(...args),
        get: (_t, p) => Reflect.get(real(), p),
        set: (_t, p, value) => Reflect.set(real(), p, value),
        has: (_t, p) => Reflect.has(real(), p),
      });
    }
    return this.#proxy;
  }
}
