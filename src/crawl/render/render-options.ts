import { UsageError } from '../usage-error.js';

/**
 * How pages are rendered: `off` fetches over plain HTTP only; `always` (`--render`) loads every
 * GET page in Chromium, once, with no plain fetch first; `auto` (`--render auto`) fetches plain
 * first and renders only the pages that need it.
 */
export type RenderMode = 'off' | 'always' | 'auto';

/** Every {@link RenderMode}. */
export const RENDER_MODES: readonly RenderMode[] = ['off', 'always', 'auto'];

/**
 * When a rendered page counts as ready to read (`--render-wait`):
 * - `settled` (the default): the `load` event, then until the page is quiet — no fetch/XHR the
 *   page started is pending, no short timer (≤ 1 s) it set is still to fire, and the DOM has not
 *   changed for a short window — or until a cap, whichever comes first (see render-page.ts);
 * - `load` / `domcontentloaded`: that event only;
 * - `networkidle`: Playwright's: no network connection for 500 ms after `load`;
 * - `selector`: until an element matches `css` (a page where none appears is a render timeout).
 */
export type RenderWait =
  | { kind: 'settled' }
  | { kind: 'load' }
  | { kind: 'domcontentloaded' }
  | { kind: 'networkidle' }
  | { kind: 'selector'; css: string };

/** Resource types blocked by default; `--render-resources` lists those to allow. */
export type RenderResource = 'image' | 'media' | 'font' | 'stylesheet';

/** Every resource type `--render-resources` accepts. */
export const RENDER_RESOURCES: readonly RenderResource[] = ['image', 'media', 'font', 'stylesheet'];

/**
 * Parses a `--render-wait` value: `settled`, `load`, `domcontentloaded`, `networkidle` or
 * `selector:CSS` with a non-empty CSS selector (its syntax is checked by Chromium when used: a
 * selector it cannot parse makes that page's render fail). Throws a UsageError naming the value
 * and the accepted forms otherwise.
 */
export function parseRenderWait(raw: string): RenderWait {
  if (raw === 'settled' || raw === 'load' || raw === 'domcontentloaded' || raw === 'networkidle') {
    return { kind: raw };
  }
  if (raw.startsWith('selector:')) {
    const css = raw.slice('selector:'.length).trim();
    if (css !== '') return { kind: 'selector', css };
  }
  throw new UsageError(
    `--render-wait: invalid value ${JSON.stringify(raw)} (expected settled, load, domcontentloaded, networkidle or selector:CSS)`,
  );
}

/** The `--render-wait` spelling of a wait strategy (for the summary and state). */
export function formatRenderWait(w: RenderWait): string {
  return w.kind === 'selector' ? `selector:${w.css}` : w.kind;
}

/**
 * Parses a `--render-resources` list (comma-separated resource types, or `none`) into the set of
 * types to allow; an empty string or `none` allows none. Throws a UsageError naming an unknown
 * type.
 */
export function parseRenderResources(raw: string): RenderResource[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && s !== 'none');
  for (const s of list) {
    if (!(RENDER_RESOURCES as readonly string[]).includes(s)) {
      throw new UsageError(
        `--render-resources: unknown resource type ${JSON.stringify(s)} (expected ${RENDER_RESOURCES.join(', ')} or none)`,
      );
    }
  }
  return [...new Set(list)] as RenderResource[];
}
