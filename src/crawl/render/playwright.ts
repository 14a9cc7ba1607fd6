import { createRequire } from 'node:module';
import type { BrowserType } from 'playwright-core';

const require = createRequire(import.meta.url);
let loaded: BrowserType | undefined;

/**
 * Playwright's Chromium driver, loaded on first call. playwright-core takes ~0.3 s and ~30 MB to
 * load; every trawl command that does not render (and `--help`, `--version`, refused usage) must
 * not pay for it. Synchronous because `findChromium` runs during options validation.
 */
export function playwrightChromium(): BrowserType {
  loaded ??= (require('playwright-core') as typeof import('playwright-core')).chromium;
  return loaded;
}
