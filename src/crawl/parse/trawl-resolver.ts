/**
 * Makes `import ... from 'trawl'` (and `'trawl/conc'`) inside a scraper resolve to THIS copy of
 * trawl, wherever the scraper file lies on disk (a temp dir, a project without trawl in its
 * node_modules): a module.register() resolve hook in the current thread.
 */
import { register } from 'node:module';

// The hook, as a data: URL so it needs no file next to this one in dist/ or src/ (and no
// TypeScript loader in the hooks thread). Registered in one of two roles:
// - 'trawl': maps the two specifiers to this package. Targets that are .ts (running from
//   sources) go on through the chain so a TypeScript loader (tsx) can claim them; compiled .js
//   targets short-circuit, so the scraper shares the thread's one copy of the package.
// - 'esm': a scraper .ts file is an ES module whatever the nearest package.json says (tsx would
//   compile it to CommonJS outside a "type": "module" package, and `import 'trawl'` would then
//   be a require() no resolve hook sees). Registered before tsx, so tsx reads the format from it.
// Each role is its own source text: the hooks thread caches modules by URL, and two
// registrations of one URL would share (and overwrite) its state.
const hook = (role: 'trawl' | 'esm'): string => `
const role = '${role}';
let targets = {};
export function initialize(data) { targets = data ?? {}; }
export async function resolve(specifier, context, next) {
  if (role === 'trawl') {
    const url = targets[specifier];
    if (url === undefined) return next(specifier, context);
    return url.endsWith('.ts') ? next(url, context) : { url, format: 'module', shortCircuit: true };
  }
  const r = await next(specifier, context);
  if (r.format !== 'module' && r.url.startsWith('file:') && !r.url.includes('/node_modules/') &&
      /\\.ts$/.test(new URL(r.url).pathname)) return { ...r, format: 'module' };
  return r;
}
`;

const REGISTERED = Symbol.for('trawl.resolver-registered');
const ESM_REGISTERED = Symbol.for('trawl.ts-esm-registered');

const hookUrl = (role: 'trawl' | 'esm'): string => `data:text/javascript,${encodeURIComponent(hook(role))}`;

/**
 * The URLs `'trawl'` and `'trawl/conc'` resolve to: this package's entry points next to this
 * module (dist/index.js when running compiled, src/index.ts when running from sources).
 */
export function trawlEntryPoints(): { trawl: string; 'trawl/conc': string } {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return {
    trawl: new URL(`../../index.${ext}`, import.meta.url).href,
    'trawl/conc': new URL(`../../conc/index.${ext}`, import.meta.url).href,
  };
}

/**
 * Registers the resolve hook once per thread (module hooks are per thread; a flag on
 * globalThis, so every copy of this module in the thread agrees). Later native imports in this
 * thread see `'trawl'` as this package; other specifiers are untouched.
 */
export function registerTrawlResolver(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[REGISTERED] === true) return;
  register(hookUrl('trawl'), import.meta.url, { data: trawlEntryPoints() });
  g[REGISTERED] = true;
}

/**
 * Registers, once per thread, the hook that makes every `.ts` file outside node_modules an ES
 * module (see hook). Must come before the TypeScript loader's registration to be seen by it.
 */
export function registerTsEsmFormat(): void {
  const g = globalThis as Record<symbol, unknown>;
  if (g[ESM_REGISTERED] === true) return;
  register(hookUrl('esm'), import.meta.url);
  g[ESM_REGISTERED] = true;
}
