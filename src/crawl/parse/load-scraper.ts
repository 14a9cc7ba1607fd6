import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Handler, LoginHook, ScraperOptions } from './scraper.js';
import { isDefinedScraper } from './scraper.js';
import { scraperProblem } from './scraper-check.js';
import { ScraperError } from './scraper-error.js';
import { registerTrawlResolver, registerTsEsmFormat } from './trawl-resolver.js';

/** A scraper module, imported and checked. */
export interface LoadedScraper {
  /** Absolute path of the module. */
  file: string;
  /** Its start URLs (`[]` when it has none). */
  start: string[];
  /** Its crawl options (`{}` when none); names checked, values not yet. */
  options: ScraperOptions;
  handlers: Record<string, Handler>;
  /** The handler labels, in definition order. */
  labels: string[];
  /** Its login hook, if it has one. */
  login?: LoginHook;
}

const TS_EXTENSIONS = new Set(['.ts', '.mts']);
const JS_EXTENSIONS = new Set(['.js', '.mjs']);

const FROM_SOURCES = import.meta.url.endsWith('.ts');

type ScopedImport = (specifier: string, parentURL: string) => Promise<unknown>;
let tsImport: Promise<ScopedImport> | null = null;

// One tsx namespace per thread: its loader applies only to modules imported through it (and
// what they import), so it neither changes how the rest of the process loads nor leaks a new
// hook per call as tsx's one-shot tsImport() would. Imported lazily: a .js scraper never loads
// tsx (and esbuild).
function typescriptImport(): Promise<ScopedImport> {
  tsImport ??= import('tsx/esm/api').then((api) => {
    registerTsEsmFormat();
    const ns = api.register({ namespace: 'trawl-scraper' });
    return (specifier, parentURL) => ns.import(specifier, parentURL) as Promise<unknown>;
  });
  return tsImport;
}

/**
 * Imports and checks the scraper module `file` (resolved against the working directory).
 * `.ts` and `.mts` files are compiled on the fly by tsx's ESM API (no build step), always as ES
 * modules; `.js` and `.mjs` files are imported natively (through tsx too when trawl itself runs
 * from its TypeScript sources). Inside the module, `import ... from 'trawl'` (and
 * `'trawl/conc'`) resolves to this copy of trawl wherever the file lies (see trawl-resolver.ts).
 * The module is imported once per thread; loading the same file again returns the cached module
 * (its top-level code does not run twice).
 *
 * Throws a {@link ScraperError} whose one-line message names the problem: the file is missing
 * or not a file, its extension is not one of the four, it does not compile or parse (with
 * `file:line` when the error gives one), its top-level code throws, its default export is
 * missing or not from defineScraper, or the definition is invalid (see scraperProblem: a
 * handler that is not a function, an unknown option name, a start URL that is not http(s)...).
 */
export async function loadScraper(file: string): Promise<LoadedScraper> {
  const abs = resolve(file);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    // Missing or unreadable: reported below.
  }
  if (!isFile) throw new ScraperError(`scraper file not found: ${abs}`);
  const ext = extname(abs).toLowerCase();
  const ts = TS_EXTENSIONS.has(ext);
  if (!ts && !JS_EXTENSIONS.has(ext))
    throw new ScraperError(`scraper ${abs}: must be a .ts, .mts, .js or .mjs file`);
  const url = pathToFileURL(abs).href;
  let mod: unknown;
  try {
    // From trawl's own TypeScript sources, `'trawl'` is a .ts file: even a .js scraper needs tsx.
    const importTs = ts || FROM_SOURCES ? await typescriptImport() : null;
    // After tsx's hooks, so this hook runs first and a compiled trawl short-circuits (one copy of
    // the package per thread, not a second one inside tsx's namespace).
    registerTrawlResolver();
    mod = importTs ? await importTs(url, import.meta.url) : await import(url);
  } catch (err) {
    throw new ScraperError(`scraper ${abs}: ${loadErrorLine(err, abs)}`);
  }
  const def = (mod as { default?: unknown }).default;
  if (def === undefined)
    throw new ScraperError(`scraper ${abs}: no default export (export default defineScraper({...}))`);
  if (!isDefinedScraper(def))
    throw new ScraperError(
      `scraper ${abs}: the default export is not a scraper (wrap it in defineScraper from 'trawl')`,
    );
  const problem = scraperProblem(def);
  if (problem !== null) throw new ScraperError(`scraper ${abs}: ${problem}`);
  return {
    file: abs,
    start: [...(def.start ?? [])],
    options: { ...(def.options ?? {}) },
    handlers: def.handlers,
    labels: Object.keys(def.handlers),
    ...(def.login === undefined ? {} : { login: def.login }),
  };
}

/**
 * One line describing why importing `abs` failed: a ScraperError thrown by defineScraper keeps
 * its message; a syntax error (Node's, or esbuild's through tsx) names `file:line` when the
 * error carries it; anything else is `cannot load: <message>`.
 */
function loadErrorLine(err: unknown, abs: string): string {
  if (!(err instanceof Error)) return `cannot load: ${String(err)}`;
  // Compared by name: the module may have imported another copy of trawl (dist vs sources).
  if (err.name === 'ScraperError') return firstLine(err.message);
  const message = err.message;
  // esbuild (tsx): "Transform failed with 1 error:\n/abs/file.ts:3:10: ERROR: Expected ..."
  const esbuild = /^(.+?):(\d+):(\d+): ERROR: (.+)$/m.exec(message);
  // esbuild's column is 0-based, editors' 1-based: give the line only, as for JavaScript.
  if (esbuild) return `syntax error at ${esbuild[1]}:${esbuild[2]}: ${esbuild[4]}`;
  if (err.name === 'SyntaxError') return `syntax error at ${syntaxErrorLine(abs)}: ${firstLine(message)}`;
  return `cannot load: ${firstLine(message)}`;
}

/**
 * `file:line` of a JavaScript syntax error: Node's ESM SyntaxError carries no location, but
 * `node --check` prints it (`/abs/file.mjs:3`) as the first line. Only run on that error path.
 * The error may lie in a module the scraper imports; then it is just the scraper's path.
 */
function syntaxErrorLine(abs: string): string {
  const check = spawnSync(process.execPath, ['--check', abs], { encoding: 'utf8', timeout: 10_000 });
  const at = /^(.+):(\d+)$/m.exec(check.stderr ?? '');
  return at ? `${at[1]}:${at[2]}` : abs;
}

function firstLine(s: string): string {
  const nl = s.indexOf('\n');
  return nl < 0 ? s : s.slice(0, nl);
}
