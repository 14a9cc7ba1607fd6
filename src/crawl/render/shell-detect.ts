/**
 * App-shell detection for `--render auto`: from the HTML a plain GET returned, decide whether
 * the page is an app shell — a document whose content only exists after its scripts run — so
 * that it is worth loading in Chromium. One streaming pass of htmlparser2's tokenizer, no DOM,
 * no element stack: time linear in the input, memory bounded by a few counters and a small
 * capped text buffer.
 */
import { type QuoteType, Tokenizer, type TokenizerCallbacks } from 'htmlparser2';

/**
 * Why {@link shellSignals} thinks a page may be an app shell (every signal that fired, in this
 * order; a signal firing does not by itself make the page a shell — see {@link shellSignals}):
 * - `little-text`: the page runs at least one script and shows fewer than `minText` characters
 *   of visible text;
 * - `app-root`: an empty framework mount point (`<div id="app">`, `id="root"`, `id="__next"`,
 *   `<app-root>`, … — see {@link MOUNT_IDS});
 * - `noscript-js`: a `<noscript>` whose text mentions JavaScript ("You need to enable JavaScript
 *   to run this app.", "Bitte aktivieren Sie JavaScript", …);
 * - `scripts`: the page's inline executable script outweighs its visible text `scriptRatio`
 *   times or more (inlined bundles, Flutter/Blazor boot code, state blobs run as script).
 */
export type ShellReason = 'little-text' | 'app-root' | 'noscript-js' | 'scripts';

/** What {@link shellSignals} found: the decision, the signals behind it and the measurements. */
export interface ShellVerdict {
  /** The page looks like an app shell: render it. */
  shell: boolean;
  /** Every signal that fired (also when `shell` is false), in {@link ShellReason}'s order. */
  reasons: ShellReason[];
  /** Visible text: non-whitespace characters (UTF-16 code units) outside scripts, styles, `<title>`, `<noscript>`, `<template>`, iframes. */
  text: number;
  /** Executable `<script>` elements (inline and external; JSON, templates and import maps excluded). */
  scripts: number;
  /** Characters of inline executable script. */
  scriptBytes: number;
}

/** Thresholds of {@link shellSignals}; every field has a default. */
export interface ShellOptions {
  /** Below this much visible text (see {@link ShellVerdict.text}) a page with a script is a shell. Default 200. */
  minText?: number;
  /** With an empty mount point (`app-root`), a page with a script and less visible text than this is a shell. Default 2000. */
  maxText?: number;
  /** `scripts` fires when inline executable script is at least this many times the visible text. Default 10. */
  scriptRatio?: number;
  /** A mount point whose subtree shows at most this much text and no link counts as empty (loading placeholders). Default 40. */
  rootText?: number;
}

/** Default {@link ShellOptions.minText}. */
export const DEFAULT_MIN_TEXT = 200;
/** Default {@link ShellOptions.maxText}. */
export const DEFAULT_MAX_TEXT = 2000;
/** Default {@link ShellOptions.scriptRatio}. */
export const DEFAULT_SCRIPT_RATIO = 10;
/** Default {@link ShellOptions.rootText}. */
export const DEFAULT_ROOT_TEXT = 40;

/**
 * Element ids (compared lower-cased) that frameworks and their starter templates mount into:
 * create-react-app and Vite's React template (`root`), Vue CLI and Vite's Vue/Svelte/vanilla
 * templates (`app`), Next.js (`__next`), Nuxt (`__nuxt`), Gatsby (`___gatsby`), and common
 * hand-written variants. Besides these ids, Angular's `<app-root>` element and any element
 * with React's `data-reactroot` attribute are mount points.
 */
export const MOUNT_IDS: ReadonlySet<string> = new Set([
  'app',
  'root',
  '__next',
  '__nuxt',
  '___gatsby',
  'app-root',
  'react-root',
  'react-app',
  'vue-app',
  'main-app',
  'spa-root',
  'application',
]);

// How much of <noscript> text is kept to look for "JavaScript" in (hostile pages: bounded).
const MAX_NOSCRIPT_TEXT = 4096;
const MENTIONS_JS = /java\s*script|\bjs\b/i;
// `<meta http-equiv=refresh content="0; url=…">`: a redirect page (HTML's refresh syntax also
// allows the URL without `url=`, after the delay's `;` or `,`).
const REFRESH_URL = /^\s*[\d.]*\s*[;,]\s*\S/;

// <script type> values a browser executes (HTML "JavaScript MIME type essence match", plus
// `module`); an absent or empty type means classic JavaScript too.
const JS_TYPES = new Set([
  'module',
  'text/javascript',
  'application/javascript',
  'application/ecmascript',
  'application/x-ecmascript',
  'application/x-javascript',
  'text/ecmascript',
  'text/javascript1.0',
  'text/javascript1.1',
  'text/javascript1.2',
  'text/javascript1.3',
  'text/javascript1.4',
  'text/javascript1.5',
  'text/jscript',
  'text/livescript',
  'text/x-ecmascript',
  'text/x-javascript',
]);

/**
 * Whether a `<script type>` value (undefined when absent) is one a browser executes: absent,
 * empty, `module`, or a JavaScript MIME type essence, ASCII case-insensitively after trimming —
 * with no parameters: `text/javascript; charset=utf-8` is not run (HTML "prepare the script
 * element"). The obsolete `language` attribute is not consulted.
 */
function isJsType(type: string | undefined): boolean {
  if (type === undefined) return true;
  const t = type.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();
  return t === '' || JS_TYPES.has(t);
}

/** Non-whitespace UTF-16 code units of `s` (ASCII whitespace and U+00A0 are whitespace). */
function visibleChars(s: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c > 32 && c !== 160) n++;
  }
  return n;
}

// Content a browser never shows as text: raw-text elements the tokenizer does not treat as
// raw text itself (it does for script, style, title, textarea, xmp) — their markup is ignored
// until the matching end tag, as extract.ts does.
const RAW_TEXT = new Set(['iframe', 'noembed', 'noframes']);

/**
 * Decides from the HTML a plain GET returned whether the page is an app shell that needs a
 * browser. It measures in one tokenizer pass (entities decoded, names case-insensitive): the
 * visible text ({@link ShellVerdict.text}), the executable scripts (inline and `src`; `type`s a
 * browser does not run — JSON, `ld+json`, `text/x-template`, `importmap` — do not count), the
 * `<noscript>` text, and framework mount points (ids in {@link MOUNT_IDS}, `<app-root>`,
 * `[data-reactroot]`), a mount point being *empty* when its subtree (up to its matching end
 * tag, or the end of the input) has no `<a href>` and at most `rootText` characters of visible
 * text — a "Loading…" placeholder or a spinner's empty divs still count as empty. A mount point
 * inside `<template>` or `<noscript>` is ignored, one nested in another is part of the outer
 * one's subtree, and one after another's end tag is measured on its own.
 *
 * The rule: a page with no executable script is never a shell (a browser would show the same
 * thing). With one, it is a shell when its visible text is below `minText` (`little-text`), or
 * below `maxText` and it has an empty mount point (`app-root`: the framework chrome — a header,
 * a footer, a menu — may be server-rendered around a client-rendered main part), or below
 * `maxText` with both `noscript-js` and `scripts`. A `<noscript>` asking for JavaScript alone
 * does not make a shell: blogs carry Disqus's "Please enable JavaScript to view the comments"
 * on fully server-rendered posts; nor does an empty `<div id="root">` on a page with plenty of
 * text (a widget's mount point on a server-rendered article). Pages that slip through (a
 * client-rendered part inside a long server-rendered page) are what the handler-found-nothing
 * fallback of `RenderLearner` (render-learner.ts) is for.
 *
 * A page with a `<meta http-equiv="refresh">` naming a URL is a redirect stub, never a shell:
 * its destination is in the markup (documentation generators emit thousands of such pages, with
 * a `location.replace()` script and a link to the same place).
 *
 * Never throws; any string is accepted (non-HTML gives a verdict about its text).
 */
export function shellSignals(html: string, opts: ShellOptions = {}): ShellVerdict {
  const minText = opts.minText ?? DEFAULT_MIN_TEXT;
  const maxText = opts.maxText ?? DEFAULT_MAX_TEXT;
  const scriptRatio = opts.scriptRatio ?? DEFAULT_SCRIPT_RATIO;
  const rootTextMax = opts.rootText ?? DEFAULT_ROOT_TEXT;

  let text = 0;
  let scripts = 0;
  let scriptBytes = 0;
  let noscriptJs = false;
  let appRoot = false;

  // Element being opened.
  let tagName = '';
  let attrName: 'id' | 'type' | 'src' | 'href' | 'data-reactroot' | 'http-equiv' | 'content' | null = null;
  let attrValue = '';
  let id: string | undefined;
  let type: string | undefined;
  let hasSrc = false;
  let hasHref = false;
  let reactRoot = false;
  let httpEquiv: string | undefined;
  let content: string | undefined;
  let redirect = false;

  // Where the text goes.
  let inScript = false; // any <script> (its content is raw text either way)
  let execScript = false; // …one a browser runs: its characters count as script
  let hiddenText = false; // <style>, <title>: raw/RCDATA text the tokenizer hands us, not shown
  let rawTextEnd: string | null = null; // iframe/noembed/noframes: ignore all until its end tag
  let templateDepth = 0;
  let noscriptDepth = 0;
  let noscriptText = '';

  // The mount point being measured: its tag name, same-name nesting depth, text and links.
  let rootName: string | null = null;
  let rootDepth = 0;
  let rootText = 0;
  let rootLinks = 0;
  const endRoot = (): void => {
    if (rootLinks === 0 && rootText <= rootTextMax) appRoot = true;
    rootName = null;
  };

  const onOpen = (selfClosing: boolean): void => {
    if (rawTextEnd !== null) return;
    if (rootName !== null) {
      if (tagName === rootName && !selfClosing) rootDepth++;
      if (tagName === 'a' && hasHref) rootLinks++;
    }
    switch (tagName) {
      case 'script':
        if (isJsType(type)) {
          scripts++;
          execScript = !hasSrc && !selfClosing;
        } else execScript = false;
        // The tokenizer ends a self-closing `<script/>` at once (no raw text follows).
        inScript = !selfClosing;
        return;
      case 'style':
      case 'title':
        hiddenText = !selfClosing;
        return;
      case 'template':
        if (!selfClosing) templateDepth++;
        return;
      case 'noscript':
        if (!selfClosing) noscriptDepth++;
        return;
      case 'meta':
        if (
          templateDepth === 0 &&
          httpEquiv?.trim().toLowerCase() === 'refresh' &&
          content !== undefined &&
          REFRESH_URL.test(content)
        )
          redirect = true;
        return;
    }
    if (RAW_TEXT.has(tagName)) {
      if (!selfClosing) rawTextEnd = tagName;
      return;
    }
    if (
      rootName === null &&
      !selfClosing &&
      templateDepth === 0 &&
      noscriptDepth === 0 &&
      (tagName === 'app-root' || reactRoot || (id !== undefined && MOUNT_IDS.has(id.trim().toLowerCase())))
    ) {
      rootName = tagName;
      rootDepth = 0;
      rootText = 0;
      rootLinks = 0;
    }
  };

  const onText = (start: number, end: number): void => {
    if (inScript) {
      if (execScript) scriptBytes += end - start;
      return;
    }
    if (hiddenText || rawTextEnd !== null || templateDepth > 0) return;
    if (noscriptDepth > 0) {
      if (noscriptText.length < MAX_NOSCRIPT_TEXT)
        noscriptText += html.slice(start, Math.min(end, start + MAX_NOSCRIPT_TEXT));
      return;
    }
    const n = visibleChars(html, start, end);
    text += n;
    if (rootName !== null) rootText += n;
  };

  const lowerName = (start: number, end: number): string => html.slice(start, end).toLowerCase();

  const callbacks: TokenizerCallbacks = {
    onopentagname(start, end) {
      tagName = lowerName(start, end);
      attrName = null;
      id = undefined;
      type = undefined;
      hasSrc = false;
      hasHref = false;
      reactRoot = false;
      httpEquiv = undefined;
      content = undefined;
    },
    onattribname(start, end) {
      const n = lowerName(start, end);
      attrName =
        n === 'id' ||
        n === 'type' ||
        n === 'src' ||
        n === 'href' ||
        n === 'data-reactroot' ||
        n === 'http-equiv' ||
        n === 'content'
          ? n
          : null;
      attrValue = '';
    },
    onattribdata(start, end) {
      if (attrName !== null) attrValue += html.slice(start, end);
    },
    onattribentity(cp) {
      if (attrName !== null) attrValue += String.fromCodePoint(cp);
    },
    onattribend(_quote: QuoteType) {
      // First of duplicate attributes wins, as in browsers.
      switch (attrName) {
        case 'id':
          id ??= attrValue;
          break;
        case 'type':
          type ??= attrValue;
          break;
        case 'src':
          hasSrc = true;
          break;
        case 'href':
          hasHref = true;
          break;
        case 'data-reactroot':
          reactRoot = true;
          break;
        case 'http-equiv':
          httpEquiv ??= attrValue;
          break;
        case 'content':
          content ??= attrValue;
          break;
      }
      attrName = null;
    },
    onopentagend() {
      onOpen(false);
    },
    onselfclosingtag() {
      onOpen(true);
    },
    onclosetag(start, end) {
      const name = lowerName(start, end);
      if (rawTextEnd !== null) {
        if (name === rawTextEnd) rawTextEnd = null;
        return;
      }
      switch (name) {
        case 'script':
          inScript = false;
          execScript = false;
          return;
        case 'style':
        case 'title':
          hiddenText = false;
          return;
        case 'template':
          if (templateDepth > 0) templateDepth--;
          return;
        case 'noscript':
          if (noscriptDepth > 0 && --noscriptDepth === 0) {
            if (MENTIONS_JS.test(noscriptText)) noscriptJs = true;
            noscriptText = '';
          }
          return;
      }
      if (rootName !== null && name === rootName) {
        if (rootDepth === 0) endRoot();
        else rootDepth--;
      }
    },
    ontext(start, end) {
      onText(start, end);
    },
    ontextentity(cp) {
      if (inScript || hiddenText || rawTextEnd !== null || templateDepth > 0) return;
      if (noscriptDepth > 0) {
        if (noscriptText.length < MAX_NOSCRIPT_TEXT) noscriptText += String.fromCodePoint(cp);
        return;
      }
      if (cp > 32 && cp !== 160) {
        text++;
        if (rootName !== null) rootText++;
      }
    },
    oncdata() {},
    oncomment() {},
    ondeclaration() {},
    onprocessinginstruction() {},
    onend() {},
  };
  const tokenizer = new Tokenizer({ xmlMode: false, decodeEntities: true }, callbacks);
  tokenizer.write(html);
  tokenizer.end();
  // An unclosed mount point or <noscript> runs to the end of the input.
  if (rootName !== null) endRoot();
  if (noscriptDepth > 0 && MENTIONS_JS.test(noscriptText)) noscriptJs = true;

  const hasScript = scripts > 0;
  const littleText = hasScript && text < minText;
  const heavyScripts = hasScript && scriptBytes >= scriptRatio * Math.max(text, 1);
  const reasons: ShellReason[] = [];
  if (littleText) reasons.push('little-text');
  if (appRoot) reasons.push('app-root');
  if (noscriptJs) reasons.push('noscript-js');
  if (heavyScripts) reasons.push('scripts');
  const shell =
    hasScript && !redirect && (littleText || (text < maxText && (appRoot || (noscriptJs && heavyScripts))));
  return { shell, reasons, text, scripts, scriptBytes };
}
